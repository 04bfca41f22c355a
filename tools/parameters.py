"""Stage documents kept in SSM Parameter Store (the routing and segments overrides): the name the
functions read, from the template's environment, and storing a document already validated."""

from __future__ import annotations

from typing import Any

from tools import template as templates

STANDARD_TIER_BYTES = 4096  # bigger values need the Advanced tier (up to 8 KB), which is billed


def parameter_name(variable: str, stage: str) -> str:
    """The name the functions read from `variable` (e.g. SOCIALCRM_ROUTING_PARAMETER) in `stage`."""
    value = templates.function_environment(templates.load())[variable]
    return str(value["Fn::Sub"]).replace("${Stage}", stage)


def store(ssm: Any, name: str, text: str) -> str:
    tier = "Standard" if len(text.encode()) <= STANDARD_TIER_BYTES else "Advanced"
    ssm.put_parameter(Name=name, Value=text, Type="String", Overwrite=True, Tier=tier)
    return name
