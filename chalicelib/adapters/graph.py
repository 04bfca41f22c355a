"""Meta's Graph API over HTTPS, with the standard library (no HTTP client in the Lambda package).

The token goes in the `Authorization` header, never in the URL, so it cannot reach an access log.
The base URL is configuration (SOCIALCRM_GRAPH_URL), so tests and the local stack point it at a
server of their own. Errors come back as GraphFailed with Meta's code, for the caller to classify.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from chalicelib.ports import GraphFailed

DEFAULT_TIMEOUT = 5.0


class GraphApi:
    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    def get(self, path: str, fields: str, token: str) -> dict[str, Any]:
        query = urllib.parse.urlencode({"fields": fields})
        url = f"{self._base}/{urllib.parse.quote(path, safe='')}?{query}"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}, method="GET")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - our base URL
                return _json(response.read(), response.status)
        except urllib.error.HTTPError as error:
            answer = _json_or_empty(error.read())
            raise _failure(error.code, answer, error.headers.get("Retry-After")) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise GraphFailed(None, None, None, f"no answer: {type(exc).__name__}") from None


def _json(body: bytes, status: int) -> dict[str, Any]:
    answer = _json_or_empty(body)
    if "error" in answer:  # Meta has answered errors with 200 too
        raise _failure(status, answer, None)
    return answer


def _json_or_empty(body: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(body)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _failure(status: int, answer: dict[str, Any], retry_after: str | None) -> GraphFailed:
    error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
    assert isinstance(error, dict)
    code = error.get("code") if isinstance(error.get("code"), int) else None
    subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
    transient = error.get("is_transient") is True or (code is None and status >= 500)
    # Meta's message is kept for the caller to show to ops: it names the error, never our customer.
    message = str(error.get("message") or f"HTTP {status}")[:300]
    wait = float(retry_after) if retry_after and retry_after.isdigit() else None
    return GraphFailed(status, code, subcode, message, transient=transient, retry_after=wait)
