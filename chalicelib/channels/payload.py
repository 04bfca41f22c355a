"""Reading untrusted JSON: decode once, then typed accessors that name the path on failure.

Platforms add fields all the time, so accessors only insist on what we use. A wrong type raises
`MalformedPayload` with the path (`entry[0].messaging[2].sender.id`), which the routes turn into
a 400 for the envelope and into an `ignored` count for a single item.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from chalicelib.channels.base import MalformedPayload
from chalicelib.models.interaction import parse_iso


def load_json(raw_body: bytes) -> Any:
    if not raw_body:
        raise MalformedPayload("the body is empty; a JSON object was expected")
    try:
        decoded = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"the body is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(decoded)
    except json.JSONDecodeError as exc:
        raise MalformedPayload(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (ValueError, RecursionError):
        raise MalformedPayload("the body is not valid JSON (too deeply nested or too large a number)") from None


def load_object(raw_body: bytes) -> dict[str, Any]:
    document = load_json(raw_body)
    if not isinstance(document, dict):
        raise MalformedPayload(f"the body must be a JSON object, not {_type_name(document)}")
    return document


def obj(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise MalformedPayload(f"{_join(path, key)}: expected an object, got {_type_name(value)}")
    return value


def opt_obj(parent: dict[str, Any], key: str, path: str) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MalformedPayload(f"{_join(path, key)}: expected an object, got {_type_name(value)}")
    return value


def as_obj(value: Any) -> dict[str, Any]:
    """For optional sub-objects where a wrong type simply means "not there"."""
    return value if isinstance(value, dict) else {}


def items(parent: dict[str, Any], key: str, path: str, *, required: bool = False) -> list[Any]:
    value = parent.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise MalformedPayload(f"{_join(path, key)}: expected an array, got {_type_name(value)}")
    return value


def text(parent: dict[str, Any], key: str, path: str) -> str:
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MalformedPayload(f"{_join(path, key)}: expected a string, got {_type_name(value)}")
    result = str(value)
    if not result:
        raise MalformedPayload(f"{_join(path, key)}: must not be empty")
    return result


def opt_text(parent: dict[str, Any], key: str, path: str) -> str | None:
    """A string field that may be absent; ids given as numbers are accepted as their digits."""
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MalformedPayload(f"{_join(path, key)}: expected a string, got {_type_name(value)}")
    return str(value)


def number(parent: dict[str, Any], key: str, path: str) -> float:
    """A finite number, given as a JSON number or as digits in a string (WhatsApp, X)."""
    value = parent.get(key)
    result: float | None = None
    if isinstance(value, str):
        try:
            result = float(value)
        except ValueError:
            result = None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            result = float(value)
        except OverflowError:
            result = None
    if result is None or not math.isfinite(result):
        raise MalformedPayload(f"{_join(path, key)}: expected a number, got {_type_name(value)}")
    return result


def rating(parent: dict[str, Any], key: str, path: str) -> float | None:
    """A review score on the 0-5 scale every channel uses, or None when absent."""
    if parent.get(key) is None:
        return None
    value = number(parent, key, path)
    if not 0 <= value <= 5:
        raise MalformedPayload(f"{_join(path, key)}: expected a number from 0 to 5")
    return value


def from_seconds(value: float, path: str) -> datetime:
    return _from_epoch(value, path)


def from_millis(value: float, path: str) -> datetime:
    return _from_epoch(value / 1000.0, path)


def from_epoch_guess(value: float, path: str) -> datetime:
    """For fields documented only as "time": Graph sends seconds, Messenger milliseconds.

    Any epoch after 1973 in milliseconds exceeds 1e11, a date in year 5138 in seconds.
    """
    return from_millis(value, path) if value > 1e11 else from_seconds(value, path)


def from_iso(value: str, path: str) -> datetime:
    try:
        return parse_iso(value)
    except (ValueError, OverflowError):
        raise MalformedPayload(f"{path}: not an ISO 8601 date-time: {value[:40]!r}") from None


def _from_epoch(seconds: float, path: str) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedPayload(f"{path}: not a valid timestamp") from None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
