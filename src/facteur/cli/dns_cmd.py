"""`facteur dns DOMAIN [--json] [--check]`: the records a hosted domain needs, and a check of them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facteur.admin import db, domains
from facteur.admin.cliutil import add_config_argument, load_settings, note, print_json, table
from facteur.admin.validate import normalize_domain
from facteur.dns import addresses, dkim_source, mtasts, tlsa
from facteur.dns.check import check_records
from facteur.dns.records import domain_records
from facteur.dns.zone import zone_lines
from facteur.errors import FacteurError
from facteur.roles_vars import TLS_DIR


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `dns` command."""
    parser = subparsers.add_parser(
        "dns", help="DNS records to publish for a domain (MX, SPF, DKIM, DMARC, autoconfig, SRV)",
        description="Print every DNS record DOMAIN needs, each marked required or recommended with "
        "why, as zone-file lines or JSON. With --check, query DNS and report what is missing or "
        "different (exit status 1 if a required record is).")
    parser.add_argument("domain", help="a hosted domain (or alias domain)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--check", action="store_true", help="compare with what DNS publishes")
    parser.add_argument("--server", metavar="IP", default=None,
                        help="DNS server to ask with --check (default: the system's resolvers)")
    parser.add_argument("--address", metavar="IP", action="append", default=None,
                        help="public address of this server, for A/AAAA and PTR (repeatable; "
                        "default: the global addresses of its interfaces)")
    add_config_argument(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    domain = normalize_domain(args.domain)
    _require_hosted(domain, settings.domains)
    host_addresses = args.address or addresses.global_addresses()
    for address in host_addresses:
        if addresses.private(address) and not args.address:
            note(f"{address} is not a public address: behind NAT, give the public one with --address")
    dkim = dkim_source.public_key(domain, settings)
    if dkim is None:
        note(f"no DKIM key for {domain} yet: its DKIM record is left out")
    records = domain_records(domain, settings.hostname, host_addresses, settings.admin_email, dkim,
                             mta_sts_id=_mta_sts_id(settings), tlsa=_tlsa(settings))
    if args.check:
        return _check(records, args)
    if args.json:
        print_json({"domain": domain, "records": [r.as_dict() for r in records]})
    else:
        print(f"; DNS records for {domain} (mail server {settings.hostname})")
        print("\n".join(zone_lines(records)))
    return 0


def _mta_sts_id(settings) -> str | None:
    if settings.tls.mta_sts == "none":
        return None
    return mtasts.policy_id(mtasts.policy_text(settings.hostname, settings.tls.mta_sts))


def _tlsa(settings) -> list[str]:
    """TLSA data of the certificate the services use (and of the next key, if one is ready)."""
    cert = Path(settings.tls.cert_file if settings.tls.mode == "files" else f"{TLS_DIR}/server.crt")
    return tlsa.associations(cert, Path(TLS_DIR, "next.key"))


def _require_hosted(domain: str, configured: list[str]) -> None:
    """Raise FacteurError unless `domain` is configured or in the database (domain or alias domain)."""
    if domain in configured:
        return
    with db.transaction() as cur:
        if domains.get_domain(cur, domain) or domains.alias_target(cur, domain):
            return
    raise FacteurError(f"domain {domain} is not hosted here (see: facteur domain list)")


def _check(records, args: argparse.Namespace) -> int:
    from facteur.dns.resolver import make_lookup  # dnspython only when needed

    findings = check_records(records, make_lookup(args.server))
    if args.json:
        print_json({"findings": [{**f.record.as_dict(), "state": f.state, "published": list(f.published)}
                                 for f in findings]})
    else:
        rows = [(f.state, f.record.level, f.record.type, f.record.name,
                 f.record.value if f.state == "ok" else _wanted(f)) for f in findings]
        print(table(rows, ("state", "level", "type", "name", "value")))
    failing = [f for f in findings if f.fails]
    if failing:
        print(f"facteur: error: {len(failing)} required record(s) missing or different", file=sys.stderr)
        return 1
    return 0


def _wanted(finding) -> str:
    published = "; ".join(finding.published) or "nothing"
    return f"want {finding.record.value} (published: {published})"
