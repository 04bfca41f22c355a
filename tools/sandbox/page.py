"""`GET /`: what the sandbox received as a page, the way a mail catcher shows sent mail.

Everything shown comes from the requests (customers' and agents' words, ids anyone could post), so
every value is HTML-escaped; the page is a template (page.html) with nothing but escaped values put
in it.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.sandbox.app import Fault, Received

_TEMPLATE = Template((Path(__file__).with_name("page.html")).read_text(encoding="utf-8"))
_ACCEPTED_LINK = '<a href="/">accepted sends only</a>'
_EVERYTHING_LINK = '<a href="/?all=true">every call</a>'


def render(records: list[Received], faults: list[Fault], everything: bool) -> str:
    rows = "\n".join(_row(record) for record in records) or '<tr><td colspan="7">Nothing yet.</td></tr>'
    pending = ""
    if faults:
        items = "".join(
            f"<li>{escape(fault.platform)}: the next {fault.count} send(s) answer {fault.status}</li>"
            for fault in faults
        )
        pending = f"<p>Pending faults:</p><ul>{items}</ul>"
    return _TEMPLATE.substitute(
        count=len(records),
        scope="every call, refused ones too" if everything else "accepted sends",
        other_scope=" · " + (_ACCEPTED_LINK if everything else _EVERYTHING_LINK),
        faults=pending,
        rows=rows,
    )


def _row(record: Received) -> str:
    refused = ' class="refused"' if record.status >= 300 else ""
    cells = (
        f"<td>{escape(record.received_at)}</td>",
        f"<td>{escape(record.platform)}</td>",
        f"<td><code>{escape(record.endpoint)}</code></td>",
        f"<td>{escape(record.recipient)}</td>",
        f'<td class="text">{escape(record.text)}</td>',
        f"<td><code>{escape(record.platform_message_id or '')}</code></td>",
        f"<td{refused}>{record.status}</td>",
    )
    return "<tr>" + "".join(cells) + "</tr>"
