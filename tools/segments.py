"""Check a segments document with the very parser the daily job uses, and show what it says.

    python -m tools.segments check my-segments.json
    python -m tools.segments show                   # the document the job reads

The job reads chalicelib/insight/segments.default.json: a change is a reviewed commit with a new
`version`, and reaches the job at the next deploy (unlike routing, there is no SSM override yet).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from chalicelib.insight.segments import DEFAULT_PATH, SegmentDocument, SegmentError, parse


def describe(document: SegmentDocument) -> str:
    lines = [f"version {document.version}: {len(document.rules)} segments"]
    for rule in document.rules:
        conditions = ", ".join(f"{name} {bound:g}" for name, bound in rule.when.items())
        lines.append(f"  {rule.name}: {conditions}" + (f"  ({rule.description})" if rule.description else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.segments", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a document")
    check.add_argument("path", type=Path)
    commands.add_parser("show", help="the document the job reads")
    args = parser.parse_args(argv)
    path = args.path if args.command == "check" else DEFAULT_PATH
    try:
        document = parse(json.loads(path.read_text(encoding="utf-8")), str(path))
    except (OSError, ValueError) as exc:  # SegmentError and JSONDecodeError are ValueErrors
        kind = "invalid" if isinstance(exc, SegmentError) else "unreadable"
        print(f"{kind}: {exc}", file=sys.stderr)
        return 1
    print(describe(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
