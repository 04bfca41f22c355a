"""`make bench`: every benchmark, one table each.

What the measured code prints while it runs (the metrics each invocation publishes as a JSON line,
as Lambda would send them to CloudWatch) is still written, and so still timed, but to a sink
rather than between the tables.
"""

from __future__ import annotations

import contextlib
import io
import sys

from bench import (
    acting,
    cold_import,
    console,
    insight,
    local_stack,
    nlp_layer,
    package_size,
    processing,
    replying,
    understanding,
    webhook_latency,
)


def main() -> None:
    benchmarks = (
        webhook_latency.run,
        cold_import.run,
        package_size.run,
        nlp_layer.run,
        processing.run,
        understanding.run,
        local_stack.run,
        acting.run,
        replying.run,
        console.run,
        insight.run,
    )
    for benchmark in benchmarks:
        with contextlib.redirect_stdout(io.StringIO()):
            table = benchmark()
        sys.stdout.write(table + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
