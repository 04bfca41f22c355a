"""Shared fixtures: an emulated AWS account provisioned from infra/, and the app on top of it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

from tools.local import LOCAL_SETTINGS
from tools.local.api import install as answer_like_api_gateway
from tools.provision import provision
from tools.secrets import DEV_SECRETS_PATH, load_file
from tools.template import ROOT

if TYPE_CHECKING:
    from tools.sandbox.server import SandboxServer

answer_like_api_gateway()  # a failing authorizer is a 401 in chalice.test, as in API Gateway

# Never let a test reach a real AWS account, whatever the developer's shell has configured.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)


# moto's Comprehend is canned and it has no Translate: tests answer those at botocore's level
# (Stubber, tools/fake_comprehend.py) and moto must let those requests pass.
MOTO_CONFIG: Any = {"core": {"passthrough": {"services": ["comprehend", "translate"]}}}


@pytest.fixture
def secrets() -> dict[str, str]:
    return load_file(DEV_SECRETS_PATH)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, secrets: dict[str, Any]) -> Iterator[dict[str, str]]:
    """A fresh moto account with the dev stack created from infra/ and the app's env set."""
    from chalicelib import dependencies

    with mock_aws(config=MOTO_CONFIG):
        env = provision(boto3.Session(), "dev", secrets)
        # The dev stage's settings, as a deployed function has them all the time (chalice's test
        # client sets them only while it handles a request, and settings are read once).
        stage = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["dev"]["environment_variables"]
        # Plus what only the local stack sets (the shared token's role), as `make run` runs it.
        for key, value in {**stage, **LOCAL_SETTINGS, **env}.items():
            monkeypatch.setenv(key, value)
        dependencies.reset()
        yield env
        dependencies.reset()


@pytest.fixture
def pipeline(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The dev stack with the offline analyzer, as `make run` processes."""
    from chalicelib import dependencies

    monkeypatch.setenv("SOCIALCRM_NLP", "local")
    dependencies.reset()
    yield aws
    dependencies.reset()


@pytest.fixture
def sqs(aws: dict[str, str]) -> Any:
    return boto3.client("sqs")


@pytest.fixture
def client(aws: dict[str, str]) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="dev") as test_client:
        yield test_client


# Property tests: a quick profile for every run, a thorough one to shake out rare inputs
# (HYPOTHESIS_PROFILE=thorough make test).
settings.register_profile(
    "default",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def platforms(
    pipeline: dict[str, str], secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[SandboxServer]:
    """The platform sandbox, with the senders' base URLs pointed at it (as `make run` does)."""
    from chalicelib import dependencies
    from tools import sandbox as sandbox_settings
    from tools.sandbox.server import start

    server = start(secrets)
    for key, value in sandbox_settings.environment(server.server_address[1]).items():
        monkeypatch.setenv(key, value)
    dependencies.reset()
    yield server
    server.close()
    dependencies.reset()
