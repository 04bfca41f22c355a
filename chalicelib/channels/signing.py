"""HMAC and token checks shared by the channels. Every comparison is constant-time on bytes.

`hmac.compare_digest` raises TypeError for non-ASCII `str`; headers are attacker-controlled, so
everything is encoded to bytes first and a bad header is just a mismatch, never a 500.

One rule for every secret here: it never signs bytes an outsider chooses, or the answer is a valid
signature of a forged delivery (a signature oracle). Where each route stands:
- X's CRC check signs the token it is given: only tokens of X's own shape, which can never be a
  delivery the parser reads, are answered (`x.crc_response` says why);
- Meta's handshake echoes the challenge unsigned, and only to a caller with the verify token;
- Telegram and Trustpilot compare a token; the generic webhook only verifies, it signs nothing;
- anything socialcrm signs for others later (replies to a generic source) must sign a message of
  another form than an inbound delivery's, so that it can never be posted back to us as one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def hex_signature(secret: str, message: bytes) -> str:
    """`sha256=<lowercase hex>`: Meta's and our generic webhook's format."""
    return "sha256=" + hmac_sha256(secret, message).hex()


def base64_signature(secret: str, message: bytes) -> str:
    """`sha256=<base64>`: X's format for both the CRC response and delivery signatures."""
    return "sha256=" + base64.b64encode(hmac_sha256(secret, message)).decode("ascii")


def matches(expected: str, presented: str | None) -> bool:
    """Constant-time equality; an empty expected secret never matches (unset config is not open)."""
    if not expected or presented is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8", errors="surrogatepass"))
