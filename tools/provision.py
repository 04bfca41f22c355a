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
    secrets_name = secret_docs.default_name(stage)
    parameters = [
        {"ParameterKey": "Stage", "ParameterValue": stage},
        {"ParameterKey": "SecretsName", "ParameterValue": secrets_name},
    ]
    with contextlib.suppress(cloudformation.exceptions.AlreadyExistsException):
        cloudformation.create_stack(
            StackName=name,
            TemplateBody=json.dumps(templates.local_subset(template)),
            Parameters=parameters,
        )
    cloudformation.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    _apply_time_to_live(session, cloudformation, name, template)
    secret_docs.store(session.client("secretsmanager"), secrets_name, secret_values)
    return environment(cloudformation, name, template, stage)


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


def environment(cloudformation: Any, name: str, template: dict[str, Any], stage: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    env = {"SOCIALCRM_STAGE": stage}
    for output_name, variable in templates.environment_outputs(template).items():
        if output_name not in outputs:
            raise RuntimeError(f"stack {name} has no output {output_name} for {variable}")
        env[variable] = outputs[output_name]
    return env
