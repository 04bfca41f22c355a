"""`make bench`: every benchmark, one table each."""

from __future__ import annotations

from bench import acting, cold_import, package_size, processing, webhook_latency


def main() -> None:
    for benchmark in (webhook_latency.run, cold_import.run, package_size.run, processing.run, acting.run):
        print(benchmark(), flush=True)


if __name__ == "__main__":
    main()
