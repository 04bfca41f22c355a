"""Check a segments document with the very parser the daily job uses, or make it a stage's
override in SSM Parameter Store, as routing's is.

    python -m tools.segments check my-segments.json
    python -m tools.segments show                        # the default in the repository
    python -m tools.segments publish my-segments.json --stage prod
    python -m tools.segments show --stage prod           # the stage's override
    python -m tools.segments remove --stage prod         # back to the default

The document is validated before anything is stored, so an override the job would refuse never
reaches SSM. The next daily run assigns by it; the insights report shows its rules at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.insight.segments import DEFAULT_PATH, SegmentDocument, SegmentError, parse
from tools import parameters


def describe(document: SegmentDocument) -> str:
    lines = [f"version {document.version}: {len(document.rules)} segments"]
    for rule in document.rules:
        conditions = ", ".join(f"{name} {bound:g}" for name, bound in rule.when.items())
        lines.append(f"  {rule.name}: {conditions}" + (f"  ({rule.description})" if rule.description else ""))
    return "\n".join(lines)


def parameter_name(stage: str) -> str:
    """The name the functions read, from the template's SOCIALCRM_SEGMENTS_PARAMETER."""
    return parameters.parameter_name("SOCIALCRM_SEGMENTS_PARAMETER", stage)


def check(path: Path) -> SegmentDocument:
    return parse(json.loads(path.read_text(encoding="utf-8")), str(path))


def publish(ssm: Any, path: Path, stage: str) -> str:
    check(path)
    return parameters.store(ssm, parameter_name(stage), path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.segments", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate a document").add_argument("path", type=Path)
    publishing = commands.add_parser("publish", help="validate a document and make it the stage's override")
    publishing.add_argument("path", type=Path)
    publishing.add_argument("--stage", required=True)
    commands.add_parser("show", help="the default, or a stage's override").add_argument("--stage")
    commands.add_parser("remove", help="back to the default").add_argument("--stage", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "check" or (args.command == "show" and not args.stage):
            print(describe(check(args.path if args.command == "check" else DEFAULT_PATH)))
            return 0
        import boto3

        ssm = boto3.client("ssm")
        if args.command == "publish":
            print(f"stored {args.path} as {publish(ssm, args.path, args.stage)}")
        elif args.command == "show":
            raw = ssm.get_parameter(Name=parameter_name(args.stage))["Parameter"]["Value"]
            print(describe(parse(json.loads(raw), parameter_name(args.stage))))
        else:
            ssm.delete_parameter(Name=parameter_name(args.stage))
            print(f"removed {parameter_name(args.stage)}: the default segments apply")
    except (OSError, ValueError) as exc:  # SegmentError and JSONDecodeError are ValueErrors
        kind = "invalid" if isinstance(exc, SegmentError) else "unreadable"
        print(f"{kind}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
