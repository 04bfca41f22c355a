"""Where the segments document comes from: the stage's SSM parameter if there is one (published
with `python -m tools.segments publish`), else the default shipped in the repository.

The daily job reads it once a run, so there is no cache. An override that is not valid is never
half-applied: SegmentError is raised, the run fails before anything is written, and customers keep
the segments they had (the `SegmentsInvalid` metric and the log say why)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.aws import WORKER_PROFILE, client
from chalicelib.errors import aws_error_code
from chalicelib.insight.segments import SegmentDocument, SegmentError, default_document, parse


def read_segments(parameter_name: str, ssm_client: Any = None) -> SegmentDocument:
    if not parameter_name:
        return default_document()
    ssm = ssm_client or client("ssm", WORKER_PROFILE)
    try:
        raw = ssm.get_parameter(Name=parameter_name)["Parameter"]["Value"]
    except Exception as exc:
        if aws_error_code(exc) == "ParameterNotFound":
            return default_document()
        raise
    try:
        data = json.loads(raw)
    except ValueError:
        raise SegmentError(f"ssm:{parameter_name}: not JSON") from None
    return parse(data, f"ssm:{parameter_name}")
