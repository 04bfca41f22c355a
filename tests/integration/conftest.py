"""Fixtures several integration modules share: the template AWS gets, and moto as the local stack
runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tools import deploy


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`chalice package --merge-template infra/template.json` for the prod stage, once per module."""
    return deploy.package("prod", tmp_path_factory.mktemp("package"), "us-east-1")


@pytest.fixture(scope="module")
def merged(packaged: Path) -> dict[str, Any]:
    """The merged template, as AWS gets it."""
    document: dict[str, Any] = json.loads(packaged.read_text())
    return document


@pytest.fixture
def local_stack_moto() -> Iterator[None]:
    """moto as the local stack runs it (tools/local/fast_moto.py: a Query costs what its partition
    holds and a transaction what it names, as in DynamoDB, not what the table holds), put back
    after the test. The answers are moto's (tests/integration/test_fast_moto.py)."""
    from tools.local import fast_moto

    fast_moto.install()
    yield
    fast_moto.uninstall()
