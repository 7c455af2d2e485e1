"""`facteur dkim show DOMAIN` and `facteur dkim rotate DOMAIN`."""

from __future__ import annotations

import argparse

from facteur import dkim
from facteur.admin.cliutil import add_config_argument, load_settings, print_json, say
from facteur.admin.validate import normalize_domain
from facteur.errors import FacteurError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dkim", help="DKIM keys of the hosted domains (records, rotation)")
    commands = parser.add_subparsers(dest="dkim_command", metavar="ACTION", required=True)

    show = commands.add_parser("show", help="print the DKIM TXT record to publish for a domain")
    show.add_argument("domain")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    add_config_argument(show)
    show.set_defaults(handler=dkim_show)

    rotate = commands.add_parser(
        "rotate", help="sign a domain's mail with a new key (new selector); prints its record")
    rotate.add_argument("domain")
    add_config_argument(rotate)
    rotate.set_defaults(handler=dkim_rotate)


def _filter_on(settings) -> None:
    if not settings.filter.enabled:
        raise FacteurError("filtering is off (filter.enabled: false): rspamd signs nothing")


def dkim_show(args: argparse.Namespace) -> int:
    domain = normalize_domain(args.domain)
    settings = load_settings(args)
    _filter_on(settings)
    selector = dkim.current_selector(domain, settings.filter.dkim_selector)
    if args.json:
        print_json({"domain": domain, "selector": selector,
                    "name": f"{selector}._domainkey.{domain}",
                    "type": "TXT", "value": dkim.txt_value(domain, selector)})
    else:
        print(dkim.zone_line(domain, selector))
    return 0


def dkim_rotate(args: argparse.Namespace) -> int:
    domain = normalize_domain(args.domain)
    settings = load_settings(args)
    _filter_on(settings)
    old = dkim.current_selector(domain, settings.filter.dkim_selector)
    selector = dkim.rotate(domain, settings.filter.dkim_selector)
    say(f"{domain} is now signed with selector {selector}; publish this record:")
    print(dkim.zone_line(domain, selector))
    say(f"keep the old record ({old}._domainkey.{domain}) published for a few days, then remove it")
    return 0
