"""The MTA-STS policy (RFC 8461) every hosted domain publishes, and its id for the `_mta-sts` record.

One policy for all domains (they share this server as MX); the nginx role serves the text that
`policy_text()` returns, and `facteur dns` publishes `policy_id()` of the same text, so a changed
policy always comes with a new id.
"""

from __future__ import annotations

import hashlib

#: How long senders may cache the policy: one week (RFC 8461 suggests weeks; 86400 minimum useful).
MAX_AGE = 604800


def policy_text(hostname: str, mode: str) -> str:
    """Return the policy file for mode `testing` or `enforce` with `hostname` as the only MX (CRLF lines)."""
    lines = ["version: STSv1", f"mode: {mode}", f"mx: {hostname}", f"max_age: {MAX_AGE}"]
    return "\r\n".join(lines) + "\r\n"


def policy_id(text: str) -> str:
    """Return the `id=` of a policy text: 20 hex digits of its SHA-256 (changes whenever the text does)."""
    return hashlib.sha256(text.encode()).hexdigest()[:20]
