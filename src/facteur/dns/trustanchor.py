"""DNSSEC trust anchors given for a zone (network.dns_stub_zones[].trust_anchor), as unbound takes them."""

from __future__ import annotations

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

KINDS = ("DS", "DNSKEY")


def normalize(text: str, zone: str) -> str:
    """Given a DS or DNSKEY record for `zone` (its owner name, TTL and class optional), return it as
    one zone-file line `ZONE. TYPE RDATA`; raise ValueError naming what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("must be a DS or DNSKEY record, like 'DS 2371 13 2 7d0b...'")
    words = text.split()
    origin = dns.name.from_text(zone)
    if words[0].upper() not in KINDS and _is_type(words[0]):
        raise ValueError(f"must be a DS or DNSKEY record, not {words[0].upper()}")
    if words[0].upper() not in KINDS:
        owner = dns.name.from_text(words.pop(0))
        if owner != origin:
            raise ValueError(f"the record is for {owner.to_text()}, not for the zone {origin.to_text()}")
        # An optional TTL and class may stand between the owner and the type, as in a zone file.
        while words and words[0].upper() not in KINDS and (words[0].isdigit() or words[0].upper() == "IN"):
            words.pop(0)
    if not words or words[0].upper() not in KINDS:
        raise ValueError("must be a DS or DNSKEY record, like 'DS 2371 13 2 7d0b...'")
    kind = words[0].upper()
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(kind), " ".join(words[1:]))
    except (dns.exception.DNSException, ValueError) as exc:
        raise ValueError(f"not a valid {kind} record: {exc}") from None
    return f"{origin.to_text()} {kind} {rdata.to_text()}"


def _is_type(word: str) -> bool:
    try:
        dns.rdatatype.from_text(word)
    except dns.rdatatype.UnknownRdatatype:
        return False
    return not word.isdigit()
