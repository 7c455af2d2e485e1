"""`facteur domain add|list|remove` and `facteur alias-domain add|list|remove`."""

from __future__ import annotations

import argparse

from facteur import dkim
from facteur.admin import alias_domains, db, domains
from facteur.admin.cliutil import add_config_argument, load_settings, note, print_json, say, table
from facteur.admin.mailboxes import VMAIL_ROOT
from facteur.admin.validate import normalize_domain
from facteur.errors import FacteurError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `domain` and `alias-domain` commands."""
    _register_domain(subparsers)
    _register_alias_domain(subparsers)


# --- domain -------------------------------------------------------------------------------------

def _register_domain(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("domain", help="add, list or remove hosted mail domains")
    commands = parser.add_subparsers(dest="domain_command", metavar="ACTION", required=True)

    add = commands.add_parser(
        "add", help="host a new domain (with abuse@, hostmaster@, postmaster@, webmaster@)"
    )
    add.add_argument("domain", help="domain name, like example.org")
    add.add_argument("--description", default="", help="free text shown in PostfixAdmin")
    add.add_argument("--no-default-aliases", action="store_true",
                     help="do not create abuse@, hostmaster@, postmaster@ and webmaster@")
    add_config_argument(add)
    add.set_defaults(handler=domain_add)

    show = commands.add_parser("list", help="list hosted domains")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    add_config_argument(show)
    show.set_defaults(handler=domain_list)

    remove = commands.add_parser("remove", help="stop hosting a domain")
    remove.add_argument("domain")
    remove.add_argument("--force", action="store_true",
                        help="also remove its mailboxes (their mail stays on disk)")
    add_config_argument(remove)
    remove.set_defaults(handler=domain_remove)


def domain_add(args: argparse.Namespace) -> int:
    domain = normalize_domain(args.domain)
    settings = load_settings(args)
    with db.transaction() as cur:
        domains.add_domain(
            cur,
            domain,
            admin_email=settings.admin_email,
            description=args.description,
            default_aliases=not args.no_default_aliases,
        )
    domains.reload_postfix()
    if settings.filter.enabled and dkim.ensure_key(domain, settings.filter.dkim_selector):
        note(f"DKIM key made for {domain}: publish its record (facteur dkim show {domain})")
    if args.no_default_aliases:
        say(f"domain {domain} added")
    else:
        say(f"domain {domain} added (abuse@, hostmaster@, postmaster@, webmaster@ -> {settings.admin_email})")
    _follow_certificate(settings, domain, "added")
    return 0


def _follow_certificate(settings, domain: str, done: str) -> None:
    """In tls.mode acme, have the certificate cover the hosted domains again (their autoconfig.,
    autodiscover. and mta-sts. names): the domain change is made either way, a failure says so."""
    if settings.tls.mode != "acme":
        return
    from facteur.acme import issue

    try:
        outcome = issue.ensure(settings)
    except FacteurError as exc:
        exc.message = f"domain {domain} {done}, but the certificate was not updated: {exc.message}"
        raise
    if outcome.changed:
        say(f"certificate re-issued for {len(outcome.names)} names")


def domain_list(args: argparse.Namespace) -> int:
    with db.transaction() as cur:
        rows = domains.list_domains(cur)
    if args.json:
        print_json([
            {
                "domain": row["domain"],
                "description": row["description"],
                "active": bool(row["active"]),
                "mailboxes": int(row["mailboxes"]),
                "aliases": int(row["aliases"]),
                "alias_of": row["alias_of"],
                "created": row["created"],
            }
            for row in rows
        ])
        return 0
    if not rows:
        say("no domains (add one: facteur domain add example.org)")
        return 0
    say(table(
        [
            (
                row["domain"],
                "yes" if row["active"] else "no",
                row["mailboxes"],
                row["aliases"],
                f"alias of {row['alias_of']}" if row["alias_of"] else row["description"],
            )
            for row in rows
        ],
        ("DOMAIN", "ACTIVE", "MAILBOXES", "ALIASES", "NOTE"),
    ))
    return 0


def domain_remove(args: argparse.Namespace) -> int:
    domain = normalize_domain(args.domain)
    settings = load_settings(args)
    with db.transaction() as cur:
        removed = domains.remove_domain(cur, domain, force=args.force)
    domains.reload_postfix()
    say(f"domain {domain} removed ({removed['mailboxes']} mailboxes, {removed['aliases']} aliases)")
    if removed["mailboxes"] and (VMAIL_ROOT / domain).exists():
        note(f"the mail of its mailboxes is still in {VMAIL_ROOT / domain}; delete it once saved")
    _follow_certificate(settings, domain, "removed")
    return 0


# --- alias-domain -------------------------------------------------------------------------------

def _register_alias_domain(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "alias-domain", help="add, list or remove alias domains (USER@alias delivered to USER@target)"
    )
    commands = parser.add_subparsers(dest="alias_domain_command", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="make ALIAS an alias domain of TARGET")
    add.add_argument("alias", help="the alias domain, like example.net")
    add.add_argument("target", help="a hosted domain, like example.org")
    add_config_argument(add)
    add.set_defaults(handler=alias_domain_add)

    show = commands.add_parser("list", help="list alias domains")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    add_config_argument(show)
    show.set_defaults(handler=alias_domain_list)

    remove = commands.add_parser("remove", help="stop ALIAS being an alias domain")
    remove.add_argument("alias")
    add_config_argument(remove)
    remove.set_defaults(handler=alias_domain_remove)


def alias_domain_add(args: argparse.Namespace) -> int:
    alias, target = alias_domains.normalize_pair(args.alias, args.target)
    with db.transaction() as cur:
        alias_domains.add_alias_domain(cur, alias, target)
    domains.reload_postfix()
    say(f"alias domain {alias} added: mail to USER@{alias} goes to USER@{target}")
    return 0


def alias_domain_list(args: argparse.Namespace) -> int:
    with db.transaction() as cur:
        rows = alias_domains.list_alias_domains(cur)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        say("no alias domains")
        return 0
    say(table([(r["alias"], r["target"], "yes" if r["active"] else "no") for r in rows],
              ("ALIAS", "TARGET", "ACTIVE")))
    return 0


def alias_domain_remove(args: argparse.Namespace) -> int:
    alias = normalize_domain(args.alias)
    with db.transaction() as cur:
        dropped = alias_domains.remove_alias_domain(cur, alias)
    domains.reload_postfix()
    if dropped:
        say(f"alias domain {alias} removed; mail to it is no longer accepted")
    else:
        say(f"alias domain {alias} removed; it keeps its own aliases (see: facteur domain list)")
    return 0
