"""Text as Unicode defines it: JSON can carry a lone surrogate (`"\\ud83d"`), which is no
character at all, so no UTF-8 encoder, model or AWS API (DynamoDB included) takes it."""

from __future__ import annotations

import re

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def well_formed(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, one code point for one, so that
    offsets into it still hold; any other text comes back unchanged."""
    return _LONE_SURROGATE.sub("\ufffd", text)
