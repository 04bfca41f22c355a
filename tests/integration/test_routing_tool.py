"""`python -m tools.routing`: what it publishes is what the functions load, and an invalid
document never reaches SSM."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.routing_source import load_routing
from chalicelib.rules.routing import load_default
from tools import routing as tool
from tools.template import ROOT

DEFAULT = ROOT / "chalicelib" / "rules" / "routing.default.json"


def test_the_parameter_name_is_the_one_the_template_hands_the_functions() -> None:
    assert tool.parameter_name("prod") == "/socialcrm/prod/routing"


def test_a_published_document_is_the_one_the_functions_load(tmp_path: Path) -> None:
    document = json.loads(DEFAULT.read_text(encoding="utf-8"))
    document["version"] = "published-by-test"
    path = tmp_path / "routing.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        assert tool.main(["publish", str(path), "--stage", "prod"]) == 0
        loaded = load_routing("/socialcrm/prod/routing", ssm)
        assert loaded.version == "published-by-test"
        assert loaded.rules == load_default().rules
        assert tool.main(["remove", "--stage", "prod"]) == 0
        assert load_routing("/socialcrm/prod/routing", ssm).version == load_default().version


def test_an_invalid_document_is_refused_before_anything_is_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(DEFAULT.read_text(encoding="utf-8"))
    document["rules"][2]["priority"] = "P9"
    path = tmp_path / "routing.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        assert tool.main(["publish", str(path), "--stage", "prod"]) == 1
        assert ssm.describe_parameters()["Parameters"] == []
    error = capsys.readouterr().err
    assert "vip-unhappy" in error, error
    assert "priority" in error, error


def test_check_accepts_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert tool.main(["check", str(DEFAULT)]) == 0
    assert "valid" in capsys.readouterr().out
