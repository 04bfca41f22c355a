"""The deployed roles' IAM, held against the AWS calls the code really makes.

moto checks no IAM: a call a role does not allow passes every test on moto and fails in AWS on
every run (the topics' count and the digest both did). This module reads the roles' inline
policies from the merged template, works out what authorisation each recorded botocore call needs
(action, resource ARN and, for DynamoDB, the partition keys and attribute names that
`dynamodb:LeadingKeys` and `dynamodb:Attributes` conditions test), and says which calls no Allow
statement covers. It reads what the template uses and refuses what it cannot read (an unknown
condition, a service without a rule), so a new kind of call or statement makes the test ask
rather than pass."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from tools import secrets as secret_docs
from tools import template as templates

ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class Need:
    """One authorisation a call needs: an IAM action on a resource ARN (and, for DynamoDB, the
    request's partition keys and attribute names, which conditions may test)."""

    action: str
    resource: str
    leading_keys: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()

    def brief(self) -> str:
        """The need without customer-specific parts: the action, the resource and the key prefixes."""
        prefixes = sorted({"#".join(key.split("#")[:2]) for key in self.leading_keys})
        return f"{self.action} {self.resource} {','.join(prefixes)}".strip()


@dataclass
class Call:
    role: str
    service: str
    operation: str
    params: dict[str, Any]


# ---------------------------------------------------------------- what a call needs


def _arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


# Words of DynamoDB's expression grammar, which are not attribute names.
_EXPRESSION_WORDS = frozenset(
    [
        "and",
        "or",
        "not",
        "between",
        "in",
        "set",
        "remove",
        "add",
        "delete",
        "attribute_exists",
        "attribute_not_exists",
        "attribute_type",
        "begins_with",
        "contains",
        "size",
        "if_not_exists",
        "list_append",
    ]
)
_EXPRESSIONS = ("KeyConditionExpression", "UpdateExpression", "ConditionExpression", "FilterExpression",
                "ProjectionExpression")  # fmt: skip
_NAME = re.compile(r"(?<![#:\w.\[])([A-Za-z_][A-Za-z0-9_]*)")


def _dynamodb_attributes(request: dict[str, Any]) -> tuple[str, ...]:
    """The top-level attribute names a DynamoDB request names: its item or key, the legacy
    parameters, and every expression's names, given through ExpressionAttributeNames (as PynamoDB
    gives them all) or written in the expression itself."""
    names = set(request.get("Item", {})) | set(request.get("Key", {})) | set(request.get("AttributesToGet", []))
    names |= set(request.get("AttributeUpdates", {})) | set(request.get("Expected", {}))
    names |= {name.split(".")[0].split("[")[0] for name in request.get("ExpressionAttributeNames", {}).values()}
    for expression in _EXPRESSIONS:
        written = _NAME.findall(request.get(expression, ""))
        names |= {word for word in written if word.lower() not in _EXPRESSION_WORDS}
    return tuple(sorted(names))


def _partition(key: dict[str, Any]) -> str:
    """An item's partition key value: `pk` in the main table, `id` in Powertools' idempotency table."""
    return str((key.get("pk") or key["id"])["S"])


ARN_OF_TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{{name}}"


def _table(name: str, index: str | None = None) -> str:
    return ARN_OF_TABLE.format(name=name) + (f"/index/{index}" if index else "")


def _query_key(request: dict[str, Any]) -> str:
    """The partition key value of a Query's key condition (`#0 = :0`, first of an AND)."""
    _, _, value = request["KeyConditionExpression"].split(" AND ")[0].strip("() ").partition(" = ")
    return str(request["ExpressionAttributeValues"][value.strip()]["S"])


def _dynamodb(operation: str, params: dict[str, Any]) -> list[Need]:
    single = {"GetItem": "Key", "DeleteItem": "Key", "UpdateItem": "Key", "PutItem": "Item"}
    if operation in single:
        key = _partition(params[single[operation]])
        return [Need(f"dynamodb:{operation}", _table(params["TableName"]), (key,), _dynamodb_attributes(params))]
    if operation == "Query":
        resource = _table(params["TableName"], params.get("IndexName"))
        return [Need("dynamodb:Query", resource, (_query_key(params),), _dynamodb_attributes(params))]
    if operation == "Scan":
        return [Need("dynamodb:Scan", _table(params["TableName"], params.get("IndexName")))]
    if operation == "BatchGetItem":
        return [
            Need(
                "dynamodb:BatchGetItem",
                _table(table),
                tuple(_partition(key) for key in request["Keys"]),
                tuple(sorted({name for key in request["Keys"] for name in key} | set(_dynamodb_attributes(request)))),
            )
            for table, request in params["RequestItems"].items()
        ]
    if operation == "BatchWriteItem":
        needs = []
        for table, writes in params["RequestItems"].items():
            items = [w.get("PutRequest", {}).get("Item") or w["DeleteRequest"]["Key"] for w in writes]
            named = tuple(sorted({name for item in items for name in item}))
            needs.append(Need("dynamodb:BatchWriteItem", _table(table), tuple(map(_partition, items)), named))
        return needs
    if operation in ("TransactWriteItems", "TransactGetItems"):
        actions = {
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem",
            "Get": "GetItem",
        }
        needs = []
        for item in params["TransactItems"]:
            ((kind, request),) = item.items()
            key = _partition(request.get("Item") or request["Key"])
            needs.append(
                Need(f"dynamodb:{actions[kind]}", _table(request["TableName"]), (key,), _dynamodb_attributes(request))
            )
        return needs
    raise AssertionError(f"no rule for dynamodb:{operation}: teach tests/iam.py what it needs")


def _queue(url: str) -> str:
    return _arn("sqs", url.rstrip("/").rsplit("/", 1)[1])


def needs(service: str, operation: str, params: dict[str, Any]) -> list[Need]:
    """What IAM must allow for one botocore call (`service` as its endpoint prefix, which is also
    its IAM prefix for every service here)."""
    if service == "dynamodb":
        return _dynamodb(operation, params)
    if service == "sqs":
        action = f"sqs:{operation.removesuffix('Batch')}"
        queue = _arn("sqs", params["QueueName"]) if operation == "GetQueueUrl" else _queue(params["QueueUrl"])
        return [Need(action, queue)]
    if service == "sns" and operation == "Publish":
        return [Need("sns:Publish", params.get("TopicArn") or params["TargetArn"])]
    if service == "events" and operation == "PutEvents":
        buses = {entry.get("EventBusName", "default") for entry in params["Entries"]}
        return [
            Need("events:PutEvents", bus if bus.startswith("arn:") else _arn("events", f"event-bus/{bus}"))
            for bus in sorted(buses)
        ]
    if service == "firehose" and operation in ("PutRecord", "PutRecordBatch"):
        return [Need(f"firehose:{operation}", _arn("firehose", f"deliverystream/{params['DeliveryStreamName']}"))]
    if service == "secretsmanager" and operation == "GetSecretValue":
        secret = params["SecretId"]
        if not secret.startswith("arn:"):  # a name stands for its ARN, which ends in six random characters
            secret = _arn("secretsmanager", f"secret:{secret}-AbC123")
        return [Need("secretsmanager:GetSecretValue", secret)]
    if service == "ssm" and operation in ("GetParameter", "GetParameters"):
        names = params.get("Names") or [params["Name"]]
        return [Need(f"ssm:{operation}", _arn("ssm", f"parameter/{name.lstrip('/')}")) for name in names]
    if service == "s3":
        bucket = f"arn:aws:s3:::{params['Bucket']}"
        if operation in ("ListObjects", "ListObjectsV2", "HeadBucket"):
            return [Need("s3:ListBucket", bucket)]
        assert "VersionId" not in params, "a version's actions (GetObjectVersion...) are not read here"
        action = {"HeadObject": "GetObject", "DeleteObjects": "DeleteObject"}.get(operation, operation)
        keys = (
            [entry["Key"] for entry in params["Delete"]["Objects"]] if operation == "DeleteObjects" else [params["Key"]]
        )
        return [Need(f"s3:{action}", f"{bucket}/{key}") for key in keys]
    if service == "cognito-idp" and operation.startswith("Admin"):
        return [Need(f"cognito-idp:{operation}", _arn("cognito-idp", f"userpool/{params['UserPoolId']}"))]
    if service == "cognito-idp" and operation in ("GetUser", "InitiateAuth", "RespondToAuthChallenge"):
        return []  # authorised by the user's token or password and the app client, not by IAM
    if service in ("comprehend", "translate"):
        return [Need(f"{service}:{operation}", "*")]
    raise AssertionError(f"no rule for {service}:{operation}: teach tests/iam.py what it needs")


# ---------------------------------------------------------------- what the roles allow


_SUB = re.compile(r"\$\{([^}]+)\}")
CONDITION_KEYS = {"dynamodb:LeadingKeys", "dynamodb:Attributes"}


@dataclass
class Policies:
    """The template's roles, with every resource resolved to the ARN (or ARN pattern) it has in
    `stage`, `parameters` standing for the template's parameters."""

    template: dict[str, Any]
    stage: str
    parameters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.names = templates.resource_names(self.template, self.stage, ACCOUNT, REGION)
        secrets = secret_docs.names(self.stage)
        self.parameters = {  # the names the deploy and the local stack give the secrets
            "SecretsName": secrets.app,
            "WebhookSecretsName": secrets.webhook,
            "KeysSecretsName": secrets.keys,
            "CognitoUserPoolId": "*",
            **self.parameters,
        }

    def statements(self, role: str) -> Iterator[dict[str, Any]]:
        resource = self.template["Resources"][role]
        assert resource["Type"] == "AWS::IAM::Role", role
        assert not resource["Properties"].get("ManagedPolicyArns"), "managed policies are not read here"
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), statement
                yield statement

    def role_of(self, handler: str) -> str:
        """The role of the function whose handler is `handler` ("app.send_replies")."""
        for resource in self.template["Resources"].values():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::Serverless::Function" and properties.get("Handler") == handler:
                return str(properties["Role"]["Fn::GetAtt"][0])
        raise KeyError(handler)

    def _resource_arn(self, logical_id: str) -> str:
        kind = self.template["Resources"][logical_id]["Type"]
        if kind == "AWS::Cognito::UserPool":
            return _arn("cognito-idp", "userpool/*")  # its id is AWS's choice
        name = self.names[logical_id]
        arns = {
            "AWS::SQS::Queue": _arn("sqs", name),
            "AWS::DynamoDB::Table": _arn("dynamodb", f"table/{name}"),
            "AWS::Events::EventBus": _arn("events", f"event-bus/{name}"),
            "AWS::KinesisFirehose::DeliveryStream": _arn("firehose", f"deliverystream/{name}"),
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::SNS::Topic": _arn("sns", name),
        }
        return arns[kind]

    def _reference(self, logical_id: str, attribute: str) -> str:
        """What `${X.Arn}` / `Fn::GetAtt` (an ARN) or `${X}` / `Ref` gives: a topic's Ref is its
        ARN, but a queue's is its URL and a table's its name, which as a Resource match nothing."""
        kind = self.template["Resources"][logical_id]["Type"]
        if attribute == "Arn" or (attribute == "" and kind == "AWS::SNS::Topic"):
            return self._resource_arn(logical_id)
        raise AssertionError(f"{logical_id}{'.' + attribute if attribute else ''} is not an ARN in a Resource")

    def _substitute(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            fixed = {
                "AWS::Partition": "aws",
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT,
                "AWS::StackName": f"socialcrm-{self.stage}",
                "Stage": self.stage,
            }
            if name in fixed:
                return fixed[name]
            if name in self.parameters:
                return self.parameters[name]
            logical_id, _, attribute = name.partition(".")
            return self._reference(logical_id, attribute)

        return _SUB.sub(value, text)

    def patterns(self, node: Any) -> list[str]:
        """The ARN patterns a statement's Resource entry stands for."""
        if isinstance(node, str):
            return [node]
        if "Fn::GetAtt" in node:
            logical_id, attribute = node["Fn::GetAtt"]
            assert attribute == "Arn", node
            return [self._resource_arn(logical_id)]
        if "Ref" in node:
            name = node["Ref"]
            if name in self.parameters:
                return [self.parameters[name]]
            return [self._reference(name, "")]
        if "Fn::Sub" in node:
            return [self._substitute(node["Fn::Sub"])]
        if "Fn::If" in node:  # either branch, whichever the stack's condition chooses
            _, one, other = node["Fn::If"]
            return self.patterns(one) + self.patterns(other)
        raise AssertionError(f"a Resource this check cannot read: {node}")

    def _conditions_hold(self, condition: dict[str, Any], need: Need) -> bool:
        for operator, tests in condition.items():
            if operator not in ("ForAllValues:StringLike", "ForAllValues:StringEquals"):
                return False  # an operator this check does not read does not count as allowing
            for key, wanted in tests.items():
                if key not in CONDITION_KEYS:
                    return False
                allowed = [wanted] if isinstance(wanted, str) else list(wanted)
                given = need.leading_keys if key == "dynamodb:LeadingKeys" else need.attributes
                match = fnmatchcase if operator.endswith("Like") else str.__eq__
                # ForAllValues over no values holds, as in IAM.
                if not all(any(match(value, pattern) for pattern in allowed) for value in given):
                    return False
        return True

    def allows(self, role: str, need: Need) -> bool:
        for statement in self.statements(role):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if not any(fnmatchcase(need.action.lower(), action.lower()) for action in actions):  # as IAM: any case
                continue
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if not any(fnmatchcase(need.resource, p) for resource in resources for p in self.patterns(resource)):
                continue
            if statement["Effect"] == "Deny":
                raise AssertionError(f"{role} has a Deny statement; this check reads Allow only")
            if self._conditions_hold(statement.get("Condition", {}), need):
                return True
        return False

    def refused(self, calls: list[Call]) -> list[str]:
        """The recorded calls no Allow statement of their role covers: one line per role, action,
        resource and key prefix."""
        refused = set()
        for call in calls:
            for need in needs(call.service, call.operation, call.params):
                if not self.allows(call.role, need):
                    refused.add(f"{call.role}: {need.brief()}")
        return sorted(refused)


# ---------------------------------------------------------------- recording the calls


@dataclass
class Recorder:
    """Every botocore call made while a role is acting (PynamoDB's included: it calls botocore's
    client), with the role that would make it in AWS."""

    calls: list[Call] = field(default_factory=list)
    role: str | None = None

    @contextlib.contextmanager
    def acting_as(self, role: str) -> Iterator[None]:
        """Calls made inside are the role's. A plain attribute, not a context variable: handlers
        may run in threads, and the flows run one at a time."""
        before, self.role = self.role, role
        try:
            yield
        finally:
            self.role = before  # a nested function's calls end where it returns

    def roles(self) -> set[str]:
        return {call.role for call in self.calls}


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    from botocore.client import BaseClient

    recorder = Recorder()
    real = BaseClient._make_api_call  # type: ignore[attr-defined]

    def record(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if recorder.role is not None:
            service = self.meta.service_model.endpoint_prefix
            recorder.calls.append(Call(recorder.role, service, operation, params))
        return real(self, operation, params)

    BaseClient._make_api_call = record  # type: ignore[attr-defined]
    try:
        yield recorder
    finally:
        BaseClient._make_api_call = real  # type: ignore[attr-defined]
