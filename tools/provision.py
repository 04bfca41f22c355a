"""Create socialcrm's resources in an emulated AWS (moto) from the same template AWS gets.

The stack is the plain-resource subset of infra/template.json, created through moto's
CloudFormation, so names and settings cannot drift from what `make deploy` creates. Returns the
environment the functions need, read from the stack's outputs exactly as the deploy wires them.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from tools import secrets as secret_docs
from tools import template as templates


def stack_name(stage: str) -> str:
    return f"socialcrm-{stage}"


def provision(session: Any, stage: str, secret_values: dict[str, Any]) -> dict[str, str]:
    """Idempotent: an existing stack is reused and the secret gets a new version."""
    template = templates.load()
    cloudformation = session.client("cloudformation")
    name = stack_name(stage)
    secrets = secret_docs.names(stage)
    parameters = [
        {"ParameterKey": "Stage", "ParameterValue": stage},
        {"ParameterKey": "SecretsName", "ParameterValue": secrets.app},
        {"ParameterKey": "WebhookSecretsName", "ParameterValue": secrets.webhook},
        {"ParameterKey": "KeysSecretsName", "ParameterValue": secrets.keys},
        *templates.stage_parameters(stage),
    ]
    with contextlib.suppress(cloudformation.exceptions.AlreadyExistsException):
        cloudformation.create_stack(
            StackName=name,
            TemplateBody=json.dumps(templates.local_subset(template)),
            Parameters=parameters,
        )
    cloudformation.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    _apply_time_to_live(session, cloudformation, name, template)
    _apply_bucket_settings(session, cloudformation, name, template, parameters)
    secretsmanager = session.client("secretsmanager")
    for secret, part in zip(secrets, secret_docs.split(secret_values), strict=True):
        secret_docs.store(secretsmanager, secret, part)
    env = environment(cloudformation, name, templates.local_subset(template), stage)
    env.update(local_cognito(session.client("cognito-idp"), stage, secret_values.get("console_users") or {}))
    env.update(local_lake_stream(session, cloudformation, name, template, stage))
    return env


# Where the local lake stream writes in the lake bucket. moto's Firehose ignores dynamic partitioning,
# buffering and compression: each PutRecordBatch becomes one uncompressed object (the records as sent,
# one after the other) under lake/YYYY/MM/DD/HH/, rather than <table>/dt=<day>/ gzipped.
LOCAL_LAKE_PREFIX = "lake/"


def local_lake_stream(
    session: Any, cloudformation: Any, name: str, template: dict[str, Any], stage: str
) -> dict[str, str]:
    """The lake's delivery stream, which moto's CloudFormation cannot create: made through moto's
    Firehose API under the template's name, into the stack's lake bucket (a reused stack's stream is
    kept). Returns SOCIALCRM_LAKE_STREAM, as the deployed functions get it, and SOCIALCRM_LAKE_BUCKET
    (for tests and tools; no function reads the bucket)."""
    bucket = cloudformation.describe_stack_resource(StackName=name, LogicalResourceId="LakeBucket")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    stream = templates.resource_names(template, stage)["LakeStream"]
    firehose = session.client("firehose")
    try:
        firehose.describe_delivery_stream(DeliveryStreamName=stream)
    except firehose.exceptions.ResourceNotFoundException:
        account = session.client("sts").get_caller_identity()["Account"]
        firehose.create_delivery_stream(
            DeliveryStreamName=stream,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": f"arn:aws:iam::{account}:role/{stream}-local",  # moto assumes no role
                "BucketARN": f"arn:aws:s3:::{bucket}",
                "Prefix": LOCAL_LAKE_PREFIX,
                "CompressionFormat": "UNCOMPRESSED",
            },
        )
    return {"SOCIALCRM_LAKE_STREAM": stream, "SOCIALCRM_LAKE_BUCKET": bucket}


def local_cognito(idp: Any, stage: str, users: dict[str, dict[str, str]]) -> dict[str, str]:
    """The stack's user pool, which moto's CloudFormation cannot create: the pool, its role groups,
    an app client that signs in with a password (the local console and `tools.local.token`), and the
    local secrets document's `console_users`. Idempotent, like the rest of the local stack."""
    name = stack_name(stage)
    pools = [pool for pool in idp.list_user_pools(MaxResults=60)["UserPools"] if pool["Name"] == name]
    pool_id = pools[0]["Id"] if pools else idp.create_user_pool(PoolName=name)["UserPool"]["Id"]
    clients = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == f"{name}-local"), None)
    if client_id is None:
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=f"{name}-local",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
    existing = {group["GroupName"] for group in idp.list_groups(UserPoolId=pool_id)["Groups"]}
    for group in secret_docs.ROLES:
        if group not in existing:
            idp.create_group(UserPoolId=pool_id, GroupName=group)
    for email, user in users.items():
        with contextlib.suppress(idp.exceptions.UsernameExistsException):
            idp.admin_create_user(
                UserPoolId=pool_id,
                Username=email,
                UserAttributes=[{"Name": "email", "Value": email}],
                MessageAction="SUPPRESS",
            )
        idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=user["password"], Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=user["role"])
    return {"SOCIALCRM_COGNITO_USER_POOL_ID": pool_id, "SOCIALCRM_COGNITO_CLIENT_IDS": client_id}


def _apply_time_to_live(session: Any, cloudformation: Any, name: str, template: dict[str, Any]) -> None:
    """moto's CloudFormation creates tables without their TimeToLiveSpecification; set it as the
    template says, so that the local tables report what the deployed ones do."""
    dynamodb = session.client("dynamodb")
    for resource in cloudformation.describe_stack_resources(StackName=name)["StackResources"]:
        declared = template["Resources"].get(resource["LogicalResourceId"], {})  # a reused stack may differ
        spec = declared.get("Properties", {}).get("TimeToLiveSpecification")
        if resource["ResourceType"] != "AWS::DynamoDB::Table" or not spec:
            continue
        table = resource["PhysicalResourceId"]
        if dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]["TimeToLiveStatus"] != "ENABLED":
            dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification=spec)


def _apply_bucket_settings(
    session: Any, cloudformation: Any, name: str, template: dict[str, Any], parameters: list[dict[str, Any]]
) -> None:
    """moto's CloudFormation drops a bucket's lifecycle, public access block and ownership
    controls; set them as the template says, so that the local bucket behaves as the deployed one."""
    s3 = session.client("s3")
    values = {p["ParameterKey"]: p["ParameterValue"] for p in parameters}
    defaults = {key: str(spec.get("Default", "")) for key, spec in template.get("Parameters", {}).items()}
    for resource in cloudformation.describe_stack_resources(StackName=name)["StackResources"]:
        declared = template["Resources"].get(resource["LogicalResourceId"], {})
        if resource["ResourceType"] != "AWS::S3::Bucket" or not declared:
            continue
        bucket, properties = resource["PhysicalResourceId"], declared["Properties"]
        if "LifecycleConfiguration" in properties:
            rules = []
            for rule in properties["LifecycleConfiguration"]["Rules"]:
                days = rule["ExpirationInDays"]
                if isinstance(days, dict):
                    days = values.get(days["Ref"]) or defaults[days["Ref"]]
                rules.append(
                    {
                        "ID": rule["Id"],
                        "Status": rule["Status"],
                        "Filter": {"Prefix": rule["Prefix"]} if "Prefix" in rule else {},
                        "Expiration": {"Days": int(days)},
                    }
                )
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in properties:
            s3.put_public_access_block(
                Bucket=bucket, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
            )
        if "OwnershipControls" in properties:
            s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=properties["OwnershipControls"])


def environment(cloudformation: Any, name: str, template: dict[str, Any], stage: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    env = {"SOCIALCRM_STAGE": stage}
    for output_name, variable in templates.environment_outputs(template).items():
        if output_name not in outputs:
            raise RuntimeError(f"stack {name} has no output {output_name} for {variable}")
        env[variable] = outputs[output_name]
    return env
