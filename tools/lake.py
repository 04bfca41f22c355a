"""The data lake's tables in an embedded engine (DuckDB), for the local stack and the tests.

The tables are the Glue tables of infra/template.json, column for column; their rows are the
objects the delivery stream wrote to the lake bucket (on the local stack, moto's S3, where one
folder holds every table's records and each record names its table in `lake_table`). The
README's Athena queries (infra/lake/*.sql) run here unchanged:

    .venv/bin/python -m tools.lake infra/lake/volume_by_channel.sql

reads the running local stack's lake (SOCIALCRM_AWS_PORT, default 5000).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from tools import template as templates

QUERIES = Path(__file__).resolve().parent.parent / "infra" / "lake"
_TYPES = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN"}
_ARRAY = re.compile(r"^array<(\w+)>$")


def tables(template: dict[str, Any] | None = None) -> dict[str, list[tuple[str, str]]]:
    """Each Glue table's name and its columns as (name, Hive type), partition keys last."""
    found: dict[str, list[tuple[str, str]]] = {}
    for resource in (template or templates.load())["Resources"].values():
        if resource.get("Type") != "AWS::Glue::Table":
            continue
        table = resource["Properties"]["TableInput"]
        columns = table["StorageDescriptor"]["Columns"] + table.get("PartitionKeys", [])
        found[table["Name"]] = [(column["Name"], column["Type"]) for column in columns]
    return found


def engine_type(hive: str) -> str:
    array = _ARRAY.match(hive)
    if array:
        return f"{_TYPES[array.group(1)]}[]"
    return _TYPES[hive]


def queries() -> dict[str, str]:
    """The README's queries, by file name without `.sql`."""
    return {path.stem: path.read_text() for path in sorted(QUERIES.glob("*.sql"))}


def download(s3: Any, bucket: str, into: Path) -> int:
    """Copy every object of the lake bucket under `into`; returns how many."""
    copied = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            target = into / item["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
            copied += 1
    return copied


def connect(folder: Path, template: dict[str, Any] | None = None) -> Any:
    """A DuckDB connection with one view per Glue table over the records under `folder`. The
    partition column `dt` is the record's own `day`, as the delivery stream partitions it."""
    import duckdb

    connection = duckdb.connect()
    files = [path for path in folder.rglob("*") if path.is_file() and path.relative_to(folder).parts[0] != "errors"]
    for name, columns in tables(template).items():
        stored = {column: engine_type(hive) for column, hive in columns if column != "dt"}
        if not files:
            selected = ", ".join(f"CAST(NULL AS {kind}) AS {column}" for column, kind in stored.items())
            connection.execute(f"CREATE VIEW {name} AS SELECT {selected}, CAST(NULL AS VARCHAR) AS dt WHERE false")
            continue
        spec = "{" + ", ".join(f"'{column}': '{kind}'" for column, kind in stored.items()) + "}"
        paths = "[" + ", ".join(f"'{path}'" for path in files) + "]"
        # Names and paths are the template's and this machine's own, never a request's.
        connection.execute(
            f"CREATE VIEW {name} AS SELECT *, day AS dt FROM read_json({paths}, format='newline_delimited', "  # noqa: S608
            f"columns={spec}) WHERE lake_table = '{name}'"
        )
    return connection


def run(sql: str, connection: Any) -> list[dict[str, Any]]:
    cursor = connection.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def main() -> int:
    import boto3

    from tools.local.__main__ import REGION, aws_environment
    from tools.provision import stack_name

    parser = argparse.ArgumentParser(description="Run a lake query on the local stack's lake with DuckDB.")
    parser.add_argument("query", type=Path, help="a .sql file, e.g. infra/lake/rising_topics.sql")
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("SOCIALCRM_AWS_PORT", "5000")))
    args = parser.parse_args()
    os.environ.update(aws_environment(args.aws_port))
    s3 = boto3.client("s3", region_name=REGION)
    bucket = boto3.client("cloudformation", region_name=REGION).describe_stack_resource(
        StackName=stack_name("dev"), LogicalResourceId="LakeBucket"
    )["StackResourceDetail"]["PhysicalResourceId"]
    with tempfile.TemporaryDirectory() as folder:
        download(s3, bucket, Path(folder))
        rows = run(args.query.read_text(), connect(Path(folder)))
    for row in rows:
        print("\t".join(str(value) for value in row.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
