"""Check a routing document, or make it a stage's override in SSM Parameter Store.

    python -m tools.routing check my-routing.json
    python -m tools.routing publish my-routing.json --stage prod
    python -m tools.routing show --stage prod
    python -m tools.routing remove --stage prod      # back to the default in the repository

The document is validated with the very parser the functions use before anything is stored, so
an override that would stop the processor never reaches SSM. Running functions keep the document
they loaded; new containers (after a deploy, or within minutes as Lambda recycles them) read the
new one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from chalicelib.rules.routing import RoutingDocument, RoutingError, parse
from tools import parameters


def parameter_name(stage: str) -> str:
    """The name the functions read, from the template's SOCIALCRM_ROUTING_PARAMETER."""
    return parameters.parameter_name("SOCIALCRM_ROUTING_PARAMETER", stage)


def check(path: Path) -> RoutingDocument:
    return parse(path.read_text(encoding="utf-8"), source=str(path))


def publish(ssm: Any, path: Path, stage: str) -> str:
    check(path)
    return parameters.store(ssm, parameter_name(stage), path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.routing", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("check", "publish"):
        command = commands.add_parser(name)
        command.add_argument("path", type=Path)
        if name == "publish":
            command.add_argument("--stage", required=True)
    for name in ("show", "remove"):
        commands.add_parser(name).add_argument("--stage", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            document = check(args.path)
            print(f"{args.path}: valid, version {document.version}, {len(document.rules)} rules")
            return 0
        import boto3

        ssm = boto3.client("ssm")
        if args.command == "publish":
            print(f"stored {args.path} as {publish(ssm, args.path, args.stage)}")
        elif args.command == "show":
            print(ssm.get_parameter(Name=parameter_name(args.stage))["Parameter"]["Value"])
        else:
            ssm.delete_parameter(Name=parameter_name(args.stage))
            print(f"removed {parameter_name(args.stage)}: the default routing applies")
    except (RoutingError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
