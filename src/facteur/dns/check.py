"""Compare the records a domain needs with what DNS publishes: ok, missing or different.

The lookup is passed in (a function name, type -> published values), so the comparison rules are
unit-tested without a DNS server; facteur.dns.resolver supplies the real one.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from facteur.dns.records import Record

State = Literal["ok", "missing", "different"]
Lookup = Callable[[str, str], list[str]]


@dataclass(frozen=True)
class Finding:
    """What DNS publishes for one needed record."""

    record: Record
    state: State
    published: tuple[str, ...]

    @property
    def fails(self) -> bool:
        """True if the record is required and not published as needed."""
        return self.state != "ok" and self.record.level == "required"


def txt_text(value: str) -> str:
    """Return the text of zone-file TXT data (`"a" "b"` -> `ab`)."""
    return "".join(shlex.split(value)) if value.startswith('"') else value


def normalize(kind: str, value: str) -> str:
    """Return `value` in a form comparable between facteur's records and DNS answers."""
    if kind == "TXT":
        return txt_text(value)
    value = " ".join(value.split()).lower()
    if kind in ("AAAA", "A"):
        import ipaddress
        return str(ipaddress.ip_address(value))
    return value


def _txt_family(text: str) -> str:
    """The kind of a TXT record: `v=spf1`, `v=dmarc1`, `v=dkim1`, or the key of `key=value`."""
    head = re.split(r"[;\s]", text.strip(), maxsplit=1)[0].lower()
    return head if head.startswith("v=") else head.split("=", 1)[0]


def _tags(text: str) -> dict[str, str]:
    pairs = (part.split("=", 1) for part in text.split(";") if "=" in part)
    return {key.strip().lower(): value.strip() for key, value in pairs}


def _txt_matches(expected: str, published: str) -> bool:
    """True if a published TXT does the job of the expected one (admins may tighten or extend it)."""
    family = _txt_family(expected)
    if family == "v=spf1":
        # Extra mechanisms (include:...) are the admin's business; ours and a closing -all/~all are not.
        terms = published.lower().split()
        ours = [t for t in expected.lower().split()[1:] if not t.endswith("all")]
        return all(t in terms for t in ours) and any(t in terms for t in ("-all", "~all"))
    if family == "v=dmarc1":
        return _tags(published).get("p", "").lower() in ("quarantine", "reject")
    if family == "v=dkim1":
        return _tags(published).get("p") == _tags(expected).get("p")
    return published == expected


def check_record(record: Record, lookup: Lookup) -> Finding:
    """Return what DNS publishes for `record`, as a Finding."""
    published = [normalize(record.type, value) for value in lookup(record.name, record.type)]
    expected = normalize(record.type, record.value)
    if record.type == "TXT":
        family = _txt_family(expected)
        same_kind = [text for text in published if _txt_family(text) == family]
        if not same_kind:
            return Finding(record, "missing", tuple(published))
        ok = any(_txt_matches(expected, text) for text in same_kind)
        return Finding(record, "ok" if ok else "different", tuple(same_kind))
    if expected in published:
        return Finding(record, "ok", tuple(published))
    return Finding(record, "different" if published else "missing", tuple(published))


def check_records(records: Iterable[Record], lookup: Lookup) -> list[Finding]:
    """Return one Finding per record, in the same order."""
    return [check_record(record, lookup) for record in records]
