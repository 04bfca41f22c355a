"""The infra/ CloudFormation template, read by deploy and by the local stack alike.

Outputs whose Description is a `SOCIALCRM_*` variable name carry the value that the deployed
functions receive through `Globals.Function.Environment`; the local stack reads the same outputs
from moto, so a function sees the same settings on a laptop as in AWS.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "infra" / "template.json"
ENV_PREFIX = "SOCIALCRM_"

# Types that only make sense inside the SAM template Chalice generates (or that moto's
# CloudFormation cannot create); the local stack leaves them out.
# Functions, roles and permissions need a real Lambda; e-mail subscriptions need a real inbox;
# moto's CloudFormation cannot create secrets (the local stack stores the secrets document itself,
# under the same name, which is what the deployed functions read) nor alarms (and moto publishes
# no SQS metrics to alarm on), nor Cognito (the local stack creates the pool itself, see provision),
# nor a Firehose delivery stream (the local stack creates the lake's through moto's Firehose API, see
# provision) or Glue's catalog (Athena's view of the lake bucket; nothing local reads it). Outputs
# that name a resource left out are left out with it.
_AWS_ONLY_PREFIXES = (
    "AWS::CloudWatch::Alarm",
    "AWS::SecretsManager::",
    "AWS::Serverless::",
    "AWS::IAM::",
    "AWS::Lambda::",
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::Cognito::",
    "AWS::Logs::",
    "AWS::ApiGateway::",
    "AWS::KinesisFirehose::",
    "AWS::Glue::",
)


def stage_parameters(stage: str) -> list[dict[str, str]]:
    """The template parameters a stage's Chalice configuration decides (its retentions)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    variables = config.get("stages", {}).get(stage, {}).get("environment_variables", {})
    parameters = []
    for variable, parameter in (
        ("SOCIALCRM_RETENTION_DAYS", "RetentionDays"),
        ("SOCIALCRM_LOG_RETENTION_DAYS", "LogRetentionDays"),
    ):
        if variables.get(variable):
            parameters.append({"ParameterKey": parameter, "ParameterValue": str(variables[variable])})
    return parameters


def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def local_subset(template: dict[str, Any]) -> dict[str, Any]:
    """The plain resources of the template (no overrides of Chalice's resources, no Globals)."""
    subset = copy.deepcopy(template)
    subset.pop("Globals", None)
    subset.pop("Transform", None)
    subset["Resources"] = {
        name: resource
        for name, resource in template["Resources"].items()
        if "Type" in resource and not resource["Type"].startswith(_AWS_ONLY_PREFIXES)
    }
    kept = set(subset["Resources"]) | set(template.get("Parameters", {}))
    subset["Outputs"] = {
        name: output for name, output in template.get("Outputs", {}).items() if _references(output["Value"]) <= kept
    }
    return subset


def function_environment(template: dict[str, Any]) -> dict[str, Any]:
    """What `Globals.Function.Environment.Variables` hands every deployed function."""
    variables: dict[str, Any] = (
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    return variables


def environment_outputs(template: dict[str, Any]) -> dict[str, str]:
    """Output name -> the environment variable it feeds."""
    return {
        name: output["Description"]
        for name, output in template.get("Outputs", {}).items()
        if str(output.get("Description", "")).startswith(ENV_PREFIX)
    }


def resource_names(
    template: dict[str, Any], stage: str, account: str = "123456789012", region: str = "us-east-1"
) -> dict[str, str]:
    """Logical id -> physical name for resources named by `Fn::Sub` on `${Stage}` (and the account
    and region, which bucket names need to be unique; moto's by default)."""
    names = {}
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("QueueName", "TableName", "Name", "TopicName", "BucketName", "DeliveryStreamName"):
            value = properties.get(key)
            if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
                names[logical_id] = (
                    value["Fn::Sub"]
                    .replace("${Stage}", stage)
                    .replace("${AWS::AccountId}", account)
                    .replace("${AWS::Region}", region)
                )
    return names


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if "Ref" in node:
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            found.add(node["Fn::GetAtt"][0])
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found
