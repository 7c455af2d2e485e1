"""Print records as zone-file lines, each preceded by a comment saying whether it is required and why."""

from __future__ import annotations

from collections.abc import Iterable

from facteur.dns.records import Record

TTL = 3600


def zone_lines(records: Iterable[Record]) -> list[str]:
    """Return `records` as BIND zone-file lines (absolute names, TTL 3600), one comment line before each."""
    records = list(records)
    width = min(max((len(r.name) for r in records), default=0), 40)  # IPv6 PTR names would push every line
    lines = []
    for record in records:
        lines.append(f"; {record.level}: {record.why}")
        lines.append(f"{record.name:<{width}}  {TTL}  IN  {record.type:<5}  {record.value}")
    return lines
