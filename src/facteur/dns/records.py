"""Given a domain and this server's name and addresses, return the records to publish, each with why.

Pure data: nothing here reads files or the network, so every record is unit-tested. Names are
absolute (trailing dot); values are in zone-file presentation form.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from typing import Literal

Level = Literal["required", "recommended"]

#: Where SOGo serves CalDAV and CardDAV (RFC 6764 lets clients find it from the SRV + TXT pair).
DAV_PATH = "/SOGo/dav/"


@dataclass(frozen=True)
class Record:
    """One DNS record: `name` (absolute) `type` `value`, required or recommended, and why."""

    name: str
    type: str
    value: str
    level: Level
    why: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DkimKey:
    """The public half of a domain's DKIM key: its selector and the TXT value (v=DKIM1; k=rsa; p=...)."""

    selector: str
    txt: str


def absolute(name: str) -> str:
    """Return `name` lower-cased with exactly one trailing dot."""
    return name.rstrip(".").lower() + "."


def quote_txt(text: str) -> str:
    """Return `text` as zone-file TXT data: quoted strings of at most 255 characters each."""
    parts = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join('"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"' for part in parts)


def reverse_name(address: str) -> str:
    """Return the PTR name of an IPv4 or IPv6 address (1.2.0.192.in-addr.arpa.)."""
    return ipaddress.ip_address(address).reverse_pointer + "."


def host_records(hostname: str, addresses: list[str]) -> list[Record]:
    """Records of the mail server itself: A/AAAA, reverse DNS, SPF for its HELO name."""
    host = absolute(hostname)
    records = []
    for address in addresses:
        kind = "A" if ipaddress.ip_address(address).version == 4 else "AAAA"
        records.append(Record(host, kind, address, "required",
                              "the MX name must resolve to this server's address"))
    for address in addresses:
        records.append(Record(
            reverse_name(address), "PTR", host, "required",
            "reverse DNS of the sending address must name the server (set it at your hosting "
            "provider); many receivers refuse mail from an address without it"))
    records.append(Record(host, "TXT", quote_txt("v=spf1 a -all"), "recommended",
                          "SPF for the HELO name: bounces and reports (empty sender) are checked against it"))
    return records


def mail_records(domain: str, hostname: str, admin_email: str, dkim: DkimKey | None) -> list[Record]:
    """Records that make `domain` receive mail here and make its outbound mail trusted."""
    zone = absolute(domain)
    host = absolute(hostname)
    records = [
        Record(zone, "MX", f"10 {host}", "required",
               "tells other servers to deliver this domain's mail here"),
        Record(zone, "TXT", quote_txt("v=spf1 mx -all"), "required",
               "SPF: only this domain's MX may send its mail; receivers reject or mark the rest"),
    ]
    if dkim is not None:
        records.append(Record(
            absolute(f"{dkim.selector}._domainkey.{domain}"), "TXT", quote_txt(dkim.txt), "required",
            "DKIM public key: receivers verify the signature this server adds to outgoing mail"))
    records.append(Record(
        absolute(f"_dmarc.{domain}"), "TXT",
        quote_txt(f"v=DMARC1; p=quarantine; adkim=s; aspf=s; rua=mailto:{admin_email}"), "required",
        "DMARC: receivers quarantine mail that fails SPF and DKIM alignment, and send reports to "
        "the administrator; large providers refuse bulk mail from domains without it"))
    return records


def client_records(domain: str, hostname: str) -> list[Record]:
    """Records that let mail, calendar and contact clients configure themselves (RFC 6186, 6764)."""
    zone = domain.rstrip(".").lower()
    host = absolute(hostname)

    def srv(service: str, port: int, what: str, rfc: str) -> Record:
        return Record(absolute(f"_{service}._tcp.{zone}"), "SRV", f"0 1 {port} {host}", "recommended",
                      f"{what} ({rfc})")

    return [
        Record(absolute(f"autoconfig.{zone}"), "CNAME", host, "recommended",
               "Thunderbird and other clients fetch their settings from this name"),
        Record(absolute(f"autodiscover.{zone}"), "CNAME", host, "recommended",
               "Outlook and phones fetch their settings from this name"),
        srv("autodiscover", 443, "Outlook finds its autodiscover service", "Microsoft's SRV lookup"),
        srv("submissions", 465, "clients find mail submission with implicit TLS", "RFC 6186, RFC 8314"),
        srv("submission", 587, "clients find mail submission with STARTTLS", "RFC 6186"),
        srv("imaps", 993, "clients find IMAP over TLS", "RFC 6186"),
        srv("pop3s", 995, "clients find POP3 over TLS", "RFC 6186"),
        srv("caldavs", 443, "calendar clients find the CalDAV server", "RFC 6764"),
        Record(absolute(f"_caldavs._tcp.{zone}"), "TXT", quote_txt(f"path={DAV_PATH}"), "recommended",
               "the CalDAV path on that server (RFC 6764)"),
        srv("carddavs", 443, "contact clients find the CardDAV server", "RFC 6764"),
        Record(absolute(f"_carddavs._tcp.{zone}"), "TXT", quote_txt(f"path={DAV_PATH}"), "recommended",
               "the CardDAV path on that server (RFC 6764)"),
    ]


def transport_records(domain: str, hostname: str, admin_email: str, mta_sts_id: str | None,
                      tlsa: list[str]) -> list[Record]:
    """Records that protect mail to `domain` against TLS downgrade: MTA-STS, TLS-RPT, DANE TLSA."""
    zone = domain.rstrip(".").lower()
    host = absolute(hostname)
    records = []
    if mta_sts_id is not None:
        records += [
            Record(absolute(f"_mta-sts.{zone}"), "TXT", quote_txt(f"v=STSv1; id={mta_sts_id}"),
                   "recommended", "MTA-STS: senders fetch the policy and then require valid TLS to the "
                   "MX (RFC 8461); the id changes whenever the policy does"),
            Record(absolute(f"mta-sts.{zone}"), "CNAME", host, "recommended",
                   "the name the MTA-STS policy is fetched from (https://mta-sts.DOMAIN/.well-known/mta-sts.txt)"),
        ]
    records.append(Record(
        absolute(f"_smtp._tls.{zone}"), "TXT", quote_txt(f"v=TLSRPTv1; rua=mailto:{admin_email}"),
        "recommended", "TLS-RPT: senders report TLS failures to the administrator (RFC 8460)"))
    for association in tlsa:
        records.append(Record(
            absolute(f"_25._tcp.{hostname}"), "TLSA", association, "recommended",
            "DANE: senders that validate DNSSEC check this server's key (RFC 7672); only in a "
            "DNSSEC-signed zone, and publish the next key before changing it"))
    return records


def domain_records(domain: str, hostname: str, addresses: list[str], admin_email: str,
                   dkim: DkimKey | None, mta_sts_id: str | None = None,
                   tlsa: list[str] | None = None) -> list[Record]:
    """Return every record to publish for `domain` hosted on `hostname` at `addresses`, required first."""
    records = (mail_records(domain, hostname, admin_email, dkim) + host_records(hostname, addresses)
               + client_records(domain, hostname)
               + transport_records(domain, hostname, admin_email, mta_sts_id, tlsa or []))
    return sorted(records, key=lambda r: r.level != "required")
