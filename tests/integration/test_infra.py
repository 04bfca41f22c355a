"""infra/: the merged template passes cfn-lint, grants least privilege, and the local stack
creates exactly the resources, names and settings that the deploy creates."""

from __future__ import annotations

import json
import secrets as secrets_module
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tools import deploy
from tools import template as templates
from tools.provision import provision
from tools.secrets import DEV_SECRETS_PATH, load_file

# What a real stage's secrets file looks like: random values, no local-only keys.
PROD_SECRETS = {
    key: secrets_module.token_urlsafe(32)
    for key in (
        "meta_app_secret",
        "meta_verify_token",
        "x_consumer_secret",
        "trustpilot_token",
        "generic_secret",
        "ops_api_token",
    )
}
PROD_SECRETS["telegram_secret_token"] = secrets_module.token_urlsafe(32)


@pytest.fixture(scope="module")
def prod_secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prod") / "prod-secrets.json"
    path.write_text(json.dumps(PROD_SECRETS))
    return path


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`chalice package --merge-template infra/template.json` for the prod stage, once per module."""
    return deploy.package("prod", tmp_path_factory.mktemp("package"), "us-east-1")


@pytest.fixture(scope="module")
def merged(packaged: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(packaged.read_text())
    return document


def test_merged_template_passes_cfn_lint(packaged: Path) -> None:
    from cfnlint.api import lint_file

    matches = lint_file(packaged)
    assert [str(match) for match in matches] == []


def test_package_holds_only_what_lambda_needs(packaged: Path) -> None:
    import zipfile

    names = zipfile.ZipFile(packaged.parent / "deployment.zip").namelist()
    assert "app.py" in names
    assert any(name.startswith("chalicelib/channels/") for name in names)
    assert any(name.startswith("aws_lambda_powertools/") for name in names)
    assert any(name.startswith("pynamodb/") for name in names), "requirements-vendor.txt goes into vendor/"
    for unwanted in ("moto/", "tools/", "tests/", "boto3/", "hypothesis/", "events/"):
        assert not any(name.startswith(unwanted) for name in names), unwanted


# Comprehend's built-in detection APIs and Translate's TranslateText have no resource type.
UNSCOPED_ACTIONS = {
    "comprehend:BatchDetectDominantLanguage",
    "comprehend:BatchDetectSentiment",
    "comprehend:BatchDetectEntities",
    "comprehend:BatchDetectKeyPhrases",
    "comprehend:BatchDetectTargetedSentiment",
    "comprehend:DetectPiiEntities",
    "translate:TranslateText",
}


def _statements(merged: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in merged["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    yield name, statement


def test_every_role_gets_the_infra_policy_with_named_actions_and_resources(merged: dict[str, Any]) -> None:
    statements = list(_statements(merged))
    roles = {name for name, resource in merged["Resources"].items() if resource["Type"] == "AWS::IAM::Role"}
    assert roles
    assert roles == {name for name, _ in statements}
    for role, statement in statements:
        assert statement.get("Sid") != "ReplacedByInfraTemplate", f"{role} still has the placeholder policy"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), (role, actions)
        if statement["Resource"] == "*":
            # Only actions that IAM cannot scope to a resource may use "*".
            assert set(actions) <= UNSCOPED_ACTIONS, (role, actions)


def test_functions_receive_every_resource_setting_the_outputs_describe(merged: dict[str, Any]) -> None:
    source = templates.load()
    variables = templates.function_environment(merged)
    described = templates.environment_outputs(source)
    assert set(described.values()) == set(variables), "an env var lacks an output for the local stack, or vice versa"
    for output_name, variable in described.items():
        assert source["Outputs"][output_name]["Value"] == variables[variable]


def _created_in_moto() -> dict[str, set[str]]:
    urls = boto3.client("sqs").list_queues().get("QueueUrls", [])
    buses = boto3.client("events").list_event_buses()["EventBuses"]
    return {
        "AWS::SQS::Queue": {url.rsplit("/", 1)[1] for url in urls},
        "AWS::DynamoDB::Table": set(boto3.client("dynamodb").list_tables()["TableNames"]),
        "AWS::Events::EventBus": {bus["Name"] for bus in buses if bus["Name"] != "default"},
        "AWS::Events::Rule": {
            rule["Name"]
            for bus in buses
            for rule in boto3.client("events").list_rules(EventBusName=bus["Name"])["Rules"]
        },
        "AWS::SNS::Topic": {
            topic["TopicArn"].rsplit(":", 1)[1] for topic in boto3.client("sns").list_topics()["Topics"]
        },
        "AWS::S3::Bucket": {bucket["Name"] for bucket in boto3.client("s3").list_buckets()["Buckets"]},
    }


def test_local_stack_creates_every_resource_the_deployed_template_has(merged: dict[str, Any]) -> None:
    """What AWS gets is the merged SAM template; every plain resource in it must exist locally
    under the same name, and nothing else may."""
    aws_only = (
        "AWS::CloudWatch::Alarm",  # moto has no SQS metrics to alarm on
        "AWS::SecretsManager::",  # the local stack stores the secret itself (checked below)
        "AWS::Serverless::",
        "AWS::IAM::",
        "AWS::Lambda::Permission",
        "AWS::SQS::QueuePolicy",
        "AWS::S3::BucketPolicy",  # moto's CloudFormation cannot create it (checked in the merged template)
        "AWS::Cognito::",  # nor these: the local stack creates its pool itself (checked below)
        "AWS::SNS::Subscription",
    )
    names = templates.resource_names(merged, "dev")
    plain = {
        logical_id: r["Type"] for logical_id, r in merged["Resources"].items() if not r["Type"].startswith(aws_only)
    }
    assert set(plain) <= set(names), "every plain resource needs a Stage-derived name the local stack can match"
    deployed: dict[str, set[str]] = {}
    for logical_id, kind in plain.items():
        deployed.setdefault(kind, set()).add(names[logical_id])
    with mock_aws():
        provision(boto3.Session(), "dev", load_file(DEV_SECRETS_PATH))
        assert _created_in_moto() == deployed


def test_local_stack_settings_match_the_template() -> None:
    with mock_aws():
        env = provision(boto3.Session(), "dev", load_file(DEV_SECRETS_PATH))
        ingest = boto3.client("sqs").get_queue_attributes(
            QueueUrl=env["SOCIALCRM_INGEST_QUEUE_URL"], AttributeNames=["All"]
        )
        redrive = json.loads(ingest["Attributes"]["RedrivePolicy"])
        assert redrive["maxReceiveCount"] == 10
        assert redrive["deadLetterTargetArn"].endswith(":socialcrm-dev-ingest-dlq")
        assert (
            boto3.client("secretsmanager").describe_secret(SecretId=env["SOCIALCRM_SECRETS_ID"])["Name"]
            == "socialcrm/dev/app"
        )


def test_deploy_script_runs_against_emulated_aws(packaged: Path, tmp_path: Path, prod_secrets: Path) -> None:
    """The deploy's own steps (secrets, bucket, upload, change set) on moto; SAM itself is not emulated."""
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        secrets = deploy.secrets_parameters(
            session.client("cloudformation"), session.client("secretsmanager"), "prod", prod_secrets
        )
        bucket = deploy.artifacts_bucket(session, None, "us-east-1")
        template = deploy.upload_code(session, packaged, bucket, "prod")
        code = template["Resources"]["APIHandler"]["Properties"]["CodeUri"]
        assert boto3.client("s3").head_object(Bucket=code["Bucket"], Key=code["Key"])["ContentLength"] > 0
        # moto's CloudFormation cannot create SAM functions, their permissions or secrets: leave those out.
        emulable = templates.local_subset(template) | {"Outputs": {}}
        deploy.deploy_stack(session, emulable, "prod", secrets, bucket)
        queues = boto3.client("sqs").list_queues()["QueueUrls"]
        assert any(url.endswith("/socialcrm-prod-ingest") for url in queues)
        stack = boto3.client("cloudformation").describe_stacks(StackName="socialcrm-prod")["Stacks"][0]
        assert {p["ParameterKey"] for p in stack["Parameters"]} >= {"SecretsName", "SecretsValue"}


def test_every_dead_letter_queue_and_the_ingest_backlog_page_ops(merged: dict[str, Any]) -> None:
    """Nothing is dropped silently: a record in a dead-letter queue, or interactions left waiting,
    raise an alarm on the ops topic, which CloudWatch can publish to (the alert topics use the
    AWS-managed SNS key, whose policy CloudWatch alarms cannot use)."""
    resources = merged["Resources"]
    alarms = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: alarm["Properties"]
        for alarm in resources.values()
        if alarm["Type"] == "AWS::CloudWatch::Alarm" and alarm["Properties"]["Namespace"] == "AWS/SQS"
    }
    dead_letter_queues = {
        resource["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for resource in resources.values()
        if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in resource["Properties"]
    }
    assert dead_letter_queues == {"IngestDeadLetterQueue", "AlertsDeadLetterQueue"}
    for queue in dead_letter_queues:
        alarm = alarms[queue]
        assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "ApproximateNumberOfMessagesVisible",
            0,
            "GreaterThanThreshold",
        )
    assert alarms["IngestQueue"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    for resource in resources.values():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            assert (
                resource["Properties"]["AlarmActions"] == resource["Properties"]["OKActions"] == [{"Ref": "OpsTopic"}]
            )
    assert "KmsMasterKeyId" not in resources["OpsTopic"]["Properties"]
    subscription = resources["OpsTopicEmailSubscription"]
    assert (subscription["Condition"], subscription["Properties"]["Endpoint"]) == (
        "HasUrgentAlertEmail",
        {"Ref": "UrgentAlertEmail"},
    )


def test_the_stack_owns_the_secret_it_is_given(prod_secrets: Path, merged: dict[str, Any]) -> None:
    """A secrets file becomes the NoEcho SecretsValue parameter; the template creates the secret
    from it under the name every function reads, and keeps it if the stack goes."""
    secret = merged["Resources"]["AppSecrets"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Condition"] == "OwnsSecrets"
    # Kept if the stack goes (not if its own creation rolls back: then nothing would own it).
    assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    assert secret["Properties"]["Name"] == {"Ref": "SecretsName"}
    assert secret["Properties"]["SecretString"] == {"Ref": "SecretsValue"}
    assert merged["Parameters"]["SecretsValue"]["NoEcho"] is True
    assert templates.function_environment(merged)["SOCIALCRM_SECRETS_ID"] == {"Ref": "SecretsName"}
    grants = [s for _, s in _statements(merged) if "secretsmanager:GetSecretValue" in s["Action"]]
    assert grants
    for grant in grants:  # this secret's versions of its name (six random characters), nothing else
        assert grant["Resource"]["Fn::Sub"].endswith(":secret:${SecretsName}-??????")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        secretsmanager = session.client("secretsmanager")
        parameters = deploy.secrets_parameters(session.client("cloudformation"), secretsmanager, "prod", prod_secrets)
        assert parameters[0] == {"ParameterKey": "SecretsName", "ParameterValue": "socialcrm/prod/app"}
        assert parameters[1]["ParameterKey"] == "SecretsValue"
        assert json.loads(parameters[1]["ParameterValue"]) == load_file(prod_secrets)
        assert secretsmanager.list_secrets()["SecretList"] == []  # written by the stack, not the script


def test_an_existing_entry_is_used_or_updated_in_place(prod_secrets: Path) -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        secretsmanager = session.client("secretsmanager")
        secretsmanager.create_secret(Name="socialcrm/prod/app", SecretString='{"old": "value"}')
        cloudformation = session.client("cloudformation")
        kept = deploy.secrets_parameters(cloudformation, secretsmanager, "prod", None)
        assert kept[1] == {"ParameterKey": "SecretsValue", "ParameterValue": ""}
        assert secretsmanager.get_secret_value(SecretId="socialcrm/prod/app")["SecretString"] == '{"old": "value"}'
        updated = deploy.secrets_parameters(cloudformation, secretsmanager, "prod", prod_secrets)
        assert updated[1] == {"ParameterKey": "SecretsValue", "ParameterValue": ""}
        stored = secretsmanager.get_secret_value(SecretId="socialcrm/prod/app")["SecretString"]
        assert json.loads(stored) == load_file(prod_secrets)


def _stack_answering(status: str = "CREATE_COMPLETE", error: str | None = None) -> Any:
    """A CloudFormation client whose stack has the AppSecrets resource in `status`, or that
    answers with `error` (moto's stacks cannot create secrets)."""
    from botocore.stub import Stubber

    client = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(client)
    expected = {"StackName": "socialcrm-prod", "LogicalResourceId": "AppSecrets"}
    if error:
        stubber.add_client_error("describe_stack_resource", error, "denied", 400, expected_params=expected)
    else:
        detail = {
            "StackName": "socialcrm-prod",
            "LogicalResourceId": "AppSecrets",
            "PhysicalResourceId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:socialcrm/prod/app-AbCdEf",
            "ResourceType": "AWS::SecretsManager::Secret",
            "LastUpdatedTimestamp": "2026-11-22T10:00:00Z",
            "ResourceStatus": status,
        }
        stubber.add_response("describe_stack_resource", {"StackResourceDetail": detail}, expected)
    stubber.activate()
    return client


def test_a_secret_the_stack_retained_on_deletion_is_an_existing_entry() -> None:
    with mock_aws():
        secretsmanager = boto3.client("secretsmanager", region_name="us-east-1")
        secretsmanager.create_secret(Name="socialcrm/prod/app", SecretString="{}")
        kept = deploy.secrets_parameters(_stack_answering("DELETE_SKIPPED"), secretsmanager, "prod", None)
        assert kept[1] == {"ParameterKey": "SecretsValue", "ParameterValue": ""}


def test_an_unreadable_stack_stops_the_deploy_instead_of_dropping_the_secret() -> None:
    """Taking AccessDenied for "no stack" would deploy SecretsValue="" and let go of the secret."""
    with mock_aws():
        secretsmanager = boto3.client("secretsmanager", region_name="us-east-1")
        with pytest.raises(deploy.DeployError, match="cannot read stack socialcrm-prod: AccessDenied"):
            deploy.secrets_parameters(_stack_answering(error="AccessDenied"), secretsmanager, "prod", None)


def test_a_secret_scheduled_for_deletion_is_refused() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        secretsmanager = session.client("secretsmanager")
        secretsmanager.create_secret(Name="socialcrm/prod/app", SecretString="{}")
        secretsmanager.delete_secret(SecretId="socialcrm/prod/app", RecoveryWindowInDays=7)
        with pytest.raises(deploy.DeployError, match="scheduled for deletion"):
            deploy.secrets_parameters(session.client("cloudformation"), secretsmanager, "prod", None)


def test_a_stack_whose_creation_rolled_back_must_be_deleted_first() -> None:
    from botocore.stub import Stubber

    client = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(client)
    stack = {"StackName": "socialcrm-prod", "CreationTime": "2026-11-22T10:00:00Z", "StackStatus": "ROLLBACK_COMPLETE"}
    stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "socialcrm-prod"})
    stubber.activate()
    with pytest.raises(deploy.DeployError, match="delete-stack --stack-name socialcrm-prod"):
        deploy.check_deployable(client, "socialcrm-prod")


def test_a_stack_that_owns_the_secret_keeps_it_or_rotates_it(prod_secrets: Path) -> None:
    with mock_aws():
        secretsmanager = boto3.client("secretsmanager", region_name="us-east-1")
        kept = deploy.secrets_parameters(_stack_answering(), secretsmanager, "prod", None)
        assert kept[1] == {"ParameterKey": "SecretsValue", "UsePreviousValue": True}
        rotated = deploy.secrets_parameters(_stack_answering(), secretsmanager, "prod", prod_secrets)
        assert json.loads(rotated[1]["ParameterValue"]) == load_file(prod_secrets)
        assert secretsmanager.list_secrets()["SecretList"] == []  # the stack's update writes it


def test_prod_refuses_known_weak_or_local_secrets_and_names_the_key(tmp_path: Path) -> None:
    dev = load_file(DEV_SECRETS_PATH)
    cases = {
        "the dev file": (dev, "console_users"),
        "a dev value": ({**PROD_SECRETS, "meta_app_secret": dev["meta_app_secret"]}, "meta_app_secret"),
        "too short": ({**PROD_SECRETS, "trustpilot_token": "short-token"}, "trustpilot_token"),
        "a placeholder": ({**PROD_SECRETS, "ops_api_token": "changeme-changeme-changeme-1234"}, "ops_api_token"),
        "too plain": ({**PROD_SECRETS, "x_consumer_secret": "a" * 40}, "x_consumer_secret"),
        "a weak map entry": ({**PROD_SECRETS, "generic_secrets": {"forum": "forum"}}, "generic_secrets.forum"),
    }
    for name, (values, key) in cases.items():
        path = tmp_path / "secrets.json"
        path.write_text(json.dumps(values))
        with mock_aws():
            session = boto3.Session(region_name="us-east-1")
            clients = (session.client("cloudformation"), session.client("secretsmanager"))
            with pytest.raises(deploy.DeployError, match=key):
                deploy.secrets_parameters(*clients, "prod", path)
        assert name


def test_deploy_refuses_to_run_without_secrets() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        cloudformation, secretsmanager = session.client("cloudformation"), session.client("secretsmanager")
        with pytest.raises(deploy.DeployError, match="SECRETS_FILE"):
            deploy.secrets_parameters(cloudformation, secretsmanager, "prod", None)


def test_the_table_in_the_template_is_the_one_the_models_describe() -> None:
    from chalicelib.store.models import InteractionItem

    table = templates.load()["Resources"]["Table"]["Properties"]
    declared = {
        index["IndexName"]: (index["KeySchema"], index["Projection"]) for index in table["GlobalSecondaryIndexes"]
    }
    for index in InteractionItem._get_schema()["global_secondary_indexes"]:
        schema, projection = declared[index["index_name"]]
        assert [(k["AttributeName"], k["KeyType"]) for k in schema] == [
            (k["AttributeName"], k["KeyType"]) for k in index["key_schema"]
        ]
        assert projection == index["projection"]


def test_the_queue_each_stage_consumes_is_the_one_the_template_names() -> None:
    """Chalice wires the consumer by queue name at import; it must be the stack's queue."""
    config = json.loads((templates.ROOT / ".chalice" / "config.json").read_text())
    for stage in ("dev", "prod"):
        names = templates.resource_names(templates.load(), stage)
        variables = config["stages"][stage]["environment_variables"]
        assert variables["SOCIALCRM_INGEST_QUEUE_NAME"] == names["IngestQueue"]
        assert variables["SOCIALCRM_ALERTS_QUEUE_NAME"] == names["AlertsQueue"]
