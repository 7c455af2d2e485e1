"""`facteur alias add|list|remove`: addresses that forward to one or more destinations."""

from __future__ import annotations

import argparse

from facteur.admin import aliases, db
from facteur.admin.cliutil import add_config_argument, load_settings, print_json, say, table
from facteur.admin.validate import normalize_alias_source, normalize_domain


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `alias` command."""
    parser = subparsers.add_parser("alias", help="add, list or remove aliases (forwarding addresses)")
    commands = parser.add_subparsers(dest="alias_command", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="make SOURCE forward to DEST (one or more)")
    add.add_argument("source", help="address here, like info@example.org, or @example.org (catch-all)")
    add.add_argument("destinations", nargs="+", metavar="DEST", help="addresses, here or elsewhere")
    add_config_argument(add)
    add.set_defaults(handler=alias_add)

    show = commands.add_parser("list", help="list aliases and lists (all, or of one domain)")
    show.add_argument("domain", nargs="?", help="only this domain")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    add_config_argument(show)
    show.set_defaults(handler=alias_list)

    remove = commands.add_parser("remove", help="remove an alias")
    remove.add_argument("source")
    add_config_argument(remove)
    remove.set_defaults(handler=alias_remove)


def alias_add(args: argparse.Namespace) -> int:
    source = normalize_alias_source(args.source)
    limit = load_settings(args).limits.max_list_members
    # Checked before touching the database; add_alias() checks again inside the transaction.
    aliases.check_cap(source, aliases.normalize_members(args.destinations), limit)
    with db.transaction() as cur:
        members = aliases.add_alias(cur, source, args.destinations, max_members=limit)
    say(f"alias {source} -> {', '.join(members)}")
    return 0


def alias_list(args: argparse.Namespace) -> int:
    domain = normalize_domain(args.domain) if args.domain else None
    with db.transaction() as cur:
        rows = aliases.list_aliases(cur, domain)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        say("no aliases" + (f" in {domain}" if domain else ""))
        return 0
    say(table(
        [(row["address"], ", ".join(row["members"]), "" if row["active"] else "inactive") for row in rows],
        ("ALIAS", "DESTINATIONS", ""),
    ))
    return 0


def alias_remove(args: argparse.Namespace) -> int:
    source = normalize_alias_source(args.source)
    with db.transaction() as cur:
        aliases.remove_alias(cur, source)
    say(f"alias {source} removed")
    return 0
