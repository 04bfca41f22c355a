"""The data lake's infrastructure in infra/: every socialcrm event queued for the archiver, a Firehose
stream that partitions newline-terminated JSON records by their `lake_table` and `day` into the
lake bucket (`<lake_table>/dt=<day>/`), Glue tables (Athena) over it, and the archiver's
least-privilege role; and the local stack's stand-in stream, which moto's CloudFormation cannot
create. (The field is `lake_table`, not `table`: TABLE is a reserved word in Athena's SQL.)

The columns below are what the archiver's records must carry: import them rather than repeat them."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tools import template as templates

# (name, Hive type) of each table's columns, in order; every table is partitioned by `dt` (the day).
INTERACTION_COLUMNS: list[tuple[str, str]] = [
    ("record_id", "string"),
    ("lake_table", "string"),
    ("day", "string"),
    ("hour", "int"),
    ("occurred_at", "string"),
    ("platform", "string"),
    ("account_id", "string"),
    ("kind", "string"),
    ("direction", "string"),
    ("action", "string"),
    ("customer_ref", "string"),
    ("interaction_ref", "string"),
    ("case_ref", "string"),
    ("agent_ref", "string"),
    ("sentiment", "string"),
    ("language", "string"),
    ("intent", "string"),
    ("intent_confidence", "double"),
    ("team", "string"),
    ("priority", "string"),
    ("rating", "double"),
    ("reaction", "string"),
    ("competitors", "array<string>"),
    ("first_response_seconds", "double"),
]
EVENT_COLUMNS: list[tuple[str, str]] = [
    ("record_id", "string"),
    ("lake_table", "string"),
    ("day", "string"),
    ("hour", "int"),
    ("at", "string"),
    ("detail_type", "string"),
    ("severity", "string"),
    ("customer_ref", "string"),
    ("case_ref", "string"),
    ("interaction_ref", "string"),
    ("platform", "string"),
    ("account_id", "string"),
    ("team", "string"),
    ("priority", "string"),
    ("intent", "string"),
    ("churn_risk", "double"),
    ("lead_score", "double"),
    ("overdue_minutes", "double"),
    ("z_score", "double"),
    ("negative_count", "int"),
    ("episode", "int"),
    ("topic", "string"),
]
TOPIC_COLUMNS: list[tuple[str, str]] = [
    ("record_id", "string"),
    ("lake_table", "string"),
    ("day", "string"),
    ("hour", "int"),
    ("topic", "string"),
    ("mentions", "int"),
    ("negative", "int"),
    ("counted_at", "string"),
]
# The `lake_table` field of a record -> its Glue table's logical id and columns.
LAKE_TABLES = {
    "interactions": ("LakeInteractionsTable", INTERACTION_COLUMNS),
    "events": ("LakeEventsTable", EVENT_COLUMNS),
    "topics": ("LakeTopicsTable", TOPIC_COLUMNS),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return templates.load()


def _statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    (policy,) = template["Resources"][role]["Properties"]["Policies"]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_the_stream_partitions_records_by_table_and_day_into_the_lake_bucket(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    stream = resources["LakeStream"]["Properties"]
    assert resources["LakeStream"]["Type"] == "AWS::KinesisFirehose::DeliveryStream"
    assert stream["DeliveryStreamName"] == {"Fn::Sub": "socialcrm-${Stage}-lake"}
    assert stream["DeliveryStreamType"] == "DirectPut"
    assert stream["DeliveryStreamEncryptionConfigurationInput"] == {"KeyType": "AWS_OWNED_CMK"}
    s3 = stream["ExtendedS3DestinationConfiguration"]
    assert s3["BucketARN"] == {"Fn::GetAtt": ["LakeBucket", "Arn"]}
    assert s3["RoleARN"] == {"Fn::GetAtt": ["LakeStreamRole", "Arn"]}
    assert s3["Prefix"] == "!{partitionKeyFromQuery:table}/dt=!{partitionKeyFromQuery:day}/"
    assert s3["ErrorOutputPrefix"] == "errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"
    assert s3["DynamicPartitioningConfiguration"]["Enabled"] is True
    assert s3["BufferingHints"] == {"SizeInMBs": 64, "IntervalInSeconds": 300}  # 64 MB: dynamic partitioning's least
    assert s3["CompressionFormat"] == "GZIP"
    processing = s3["ProcessingConfiguration"]
    assert processing["Enabled"] is True
    (extraction,) = processing["Processors"]
    assert extraction["Type"] == "MetadataExtraction"
    assert {p["ParameterName"]: p["ParameterValue"] for p in extraction["Parameters"]} == {
        "MetadataExtractionQuery": "{table:.lake_table,day:.day}",
        "JsonParsingEngine": "JQ-1.6",
    }
    # Firehose alone assumes the stream's role, for this account's streams, and may only deliver
    # into the lake bucket (what Firehose documents for an S3 destination, and nothing else).
    role = resources["LakeStreamRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}}
    granted = {
        action: json.dumps(statement["Resource"], sort_keys=True)
        for statement in _statements(template, "LakeStreamRole")
        for action in statement["Action"]
    }
    bucket, objects = json.dumps({"Fn::GetAtt": ["LakeBucket", "Arn"]}), json.dumps({"Fn::Sub": "${LakeBucket.Arn}/*"})
    assert granted == {
        "s3:GetBucketLocation": bucket,
        "s3:ListBucket": bucket,
        "s3:ListBucketMultipartUploads": bucket,
        "s3:AbortMultipartUpload": objects,
        "s3:GetObject": objects,
        "s3:PutObject": objects,
    }


def test_the_lake_bucket_is_private_encrypted_and_expires_only_delivery_errors(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    bucket = resources["LakeBucket"]["Properties"]
    assert bucket["BucketName"] == {"Fn::Sub": "socialcrm-${Stage}-lake-${AWS::AccountId}-${AWS::Region}"}
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert (rule["Prefix"], rule["ExpirationInDays"], rule["Status"]) == ("errors/", 30, "Enabled")
    (tls,) = resources["LakeBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (tls["Effect"], tls["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


@pytest.mark.parametrize("table", sorted(LAKE_TABLES))
def test_each_glue_table_reads_its_folder_of_the_lake_with_its_columns(template: dict[str, Any], table: str) -> None:
    logical_id, columns = LAKE_TABLES[table]
    resource = template["Resources"][logical_id]
    assert resource["Type"] == "AWS::Glue::Table"
    assert resource["Properties"]["DatabaseName"] == {"Ref": "LakeDatabase"}
    spec = resource["Properties"]["TableInput"]
    assert (spec["Name"], spec["TableType"]) == (table, "EXTERNAL_TABLE")
    storage = spec["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == columns
    assert spec["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert storage["Location"] == {"Fn::Sub": f"s3://${{LakeBucket}}/{table}/"}
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert storage["OutputFormat"] == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    parameters = spec["Parameters"]
    assert parameters["classification"] == "json"
    assert {key: value for key, value in parameters.items() if key.startswith("projection.")} == {
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": "2026-01-01,NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
    }
    # The stream's prefix with this table: `${!dt}` is Fn::Sub's escape of Athena's `${dt}`.
    assert parameters["storage.location.template"] == {"Fn::Sub": f"s3://${{LakeBucket}}/{table}/dt=${{!dt}}/"}
    # Athena names: letters, digits and underscores; a stage may hold hyphens, so they are replaced.
    name = template["Resources"]["LakeDatabase"]["Properties"]["DatabaseInput"]["Name"]
    assert name == {"Fn::Join": ["_", ["socialcrm", {"Fn::Join": ["_", {"Fn::Split": ["-", {"Ref": "Stage"}]}]}]]}


def test_the_lake_rule_queues_every_socialcrm_event_and_nothing_else_may_send(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    rule = resources["LakeRule"]["Properties"]
    assert rule["EventBusName"] == {"Fn::GetAtt": ["EventBus", "Name"]}
    assert rule["EventPattern"] == {"source": ["socialcrm"]}  # every detail-type
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["LakeQueue", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["LakeDeadLetterQueue", "Arn"]}}
    (statement,) = resources["LakeQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["LakeRule", "Arn"]}}}
    queue = resources["LakeQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["LakeDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 10,
    }
    config = json.loads((templates.ROOT / ".chalice" / "config.json").read_text())
    assert queue["VisibilityTimeout"] >= 6 * config["lambda_functions"]["archive_to_lake"]["lambda_timeout"]
    alarm = resources["LakeDeadLettersAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["LakeDeadLetterQueue", "QueueName"]}
    assert alarm["AlarmActions"] == [{"Ref": "OpsTopic"}]
    for stage in ("dev", "prod"):  # Chalice wires the consumer by name at import
        variables = config["stages"][stage]["environment_variables"]
        assert variables["SOCIALCRM_LAKE_QUEUE_NAME"] == templates.resource_names(template, stage)["LakeQueue"]


def test_only_the_archiver_and_the_rollup_write_to_the_stream_and_nothing_else(template: dict[str, Any]) -> None:
    stream = {"Fn::GetAtt": ["LakeStream", "Arn"]}
    writers = {}
    for name, resource in template["Resources"].items():
        if not name.endswith("Role") or "Policies" not in resource.get("Properties", {}):
            continue
        for statement in _statements(template, name):
            if any(action.startswith("firehose:") for action in statement["Action"]):
                assert (statement["Action"], statement["Resource"]) == (["firehose:PutRecordBatch"], stream), name
                writers[name] = statement["Sid"]
    assert set(writers) == {"ArchiveToLakeRole", "RollUpFiguresRole"}
    policy = {s["Sid"]: s for s in _statements(template, "ArchiveToLakeRole")}
    assert set(policy) == {"Logs", "ConsumeLakeQueue", "ReadProfilesKeepLakeKeys", "ReadHashKeys", "ArchiveToLake"}
    assert policy["ConsumeLakeQueue"]["Resource"] == {"Fn::GetAtt": ["LakeQueue", "Arn"]}
    keys = policy["ReadProfilesKeepLakeKeys"]
    assert set(keys["Action"]) == {
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
    }
    assert keys["Resource"] == {"Fn::GetAtt": ["Table", "Arn"]}  # no index
    assert keys["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CUSTOMER#*"]}}
    # the hash keys' secret (lake_key), never the app secret's page tokens
    assert policy["ReadHashKeys"]["Resource"]["Fn::Sub"].endswith(":secret:${KeysSecretsName}-??????")
    events = template["Resources"]["ArchiveToLake"]["Properties"]["Events"]
    assert events["ArchiveToLakeSqsEventSource"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert templates.function_environment(template)["SOCIALCRM_LAKE_STREAM"] == {"Ref": "LakeStream"}
    assert template["Outputs"]["LakeStreamName"] == {
        "Description": "SOCIALCRM_LAKE_STREAM",
        "Value": {"Ref": "LakeStream"},
    }


def test_the_local_stack_has_a_stream_into_the_lake_bucket_and_the_rule_feeds_the_queue(aws: dict[str, str]) -> None:
    from tools.provision import LOCAL_LAKE_PREFIX

    assert aws["SOCIALCRM_LAKE_STREAM"] == "socialcrm-dev-lake"
    assert aws["SOCIALCRM_LAKE_BUCKET"].startswith("socialcrm-dev-lake-")
    assert "SOCIALCRM_LAKE_BUCKET" not in templates.function_environment(templates.load())  # no function reads it
    firehose = boto3.client("firehose")
    described = firehose.describe_delivery_stream(DeliveryStreamName=aws["SOCIALCRM_LAKE_STREAM"])
    (destination,) = described["DeliveryStreamDescription"]["Destinations"]
    assert (
        destination["ExtendedS3DestinationDescription"]["BucketARN"] == f"arn:aws:s3:::{aws['SOCIALCRM_LAKE_BUCKET']}"
    )
    records = [
        {"lake_table": "topics", "day": "2026-03-02", "topic": "refund"},
        {"lake_table": "events", "day": "2026-03-02"},
    ]
    firehose.put_record_batch(
        DeliveryStreamName=aws["SOCIALCRM_LAKE_STREAM"],
        Records=[{"Data": (json.dumps(record) + "\n").encode()} for record in records],
    )
    s3 = boto3.client("s3")
    (written,) = s3.list_objects_v2(Bucket=aws["SOCIALCRM_LAKE_BUCKET"])["Contents"]
    assert written["Key"].startswith(LOCAL_LAKE_PREFIX)
    body = s3.get_object(Bucket=aws["SOCIALCRM_LAKE_BUCKET"], Key=written["Key"])["Body"].read().decode()
    assert [json.loads(line) for line in body.splitlines()] == records
    # Only delivery errors expire, locally as deployed.
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=aws["SOCIALCRM_LAKE_BUCKET"])["Rules"]
    assert (rule["Filter"], rule["Expiration"]["Days"]) == ({"Prefix": "errors/"}, 30)
    # Any socialcrm event lands on the lake queue.
    boto3.client("events").put_events(
        Entries=[
            {
                "Source": "socialcrm",
                "DetailType": "Anything At All",
                "Detail": json.dumps({"customer_id": "c1"}),
                "EventBusName": aws["SOCIALCRM_EVENT_BUS"],
            }
        ]
    )
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="socialcrm-dev-lake")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["detail-type"] for m in messages] == ["Anything At All"]
    # Provisioning again (a reused stack) keeps the stream.
    from tools.provision import provision
    from tools.secrets import DEV_SECRETS_PATH, load_file

    again = provision(boto3.Session(), "dev", load_file(DEV_SECRETS_PATH))
    assert again["SOCIALCRM_LAKE_STREAM"] == aws["SOCIALCRM_LAKE_STREAM"]
    assert firehose.list_delivery_streams()["DeliveryStreamNames"] == [aws["SOCIALCRM_LAKE_STREAM"]]
