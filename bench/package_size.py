"""Size of the Lambda deployment package that `chalice package` builds for prod."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from bench.table import render


def run() -> str:
    from tools.deploy import package

    with tempfile.TemporaryDirectory() as folder:
        template = package("prod", Path(folder), "us-east-1")
        archive = template.parent / "deployment.zip"
        with zipfile.ZipFile(archive) as zipped:
            unpacked = sum(info.file_size for info in zipped.infolist())
            files = len(zipped.infolist())
        size = archive.stat().st_size
    return render(
        "Lambda package (chalice package --stage prod)",
        ["artifact", "zipped KiB", "unzipped KiB", "files"],
        [["deployment.zip", size / 1024, unpacked / 1024, files]],
    )


if __name__ == "__main__":
    print(run())
