"""`facteur alias add|list|remove`: addresses that forward to one or more other addresses."""

from __future__ import annotations

import argparse

from facteur.admin import aliases, cliutil, db, validate


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `alias` command."""
    parser = subparsers.add_parser(
        "alias", help="forwarding addresses", description="Manage aliases (forwarding addresses)."
    )
    sub = parser.add_subparsers(dest="alias_command", metavar="ACTION", required=True)

    add = sub.add_parser(
        "add",
        help="create an alias",
        description="Mail to SOURCE goes to every DESTINATION (addresses here or elsewhere). "
        "SOURCE @DOMAIN (or *@DOMAIN) catches every address of DOMAIN that has no mailbox or alias.",
    )
    add.add_argument("source", metavar="SOURCE")
    add.add_argument("destinations", metavar="DESTINATION", nargs="+")
    cliutil.add_config_argument(add)
    add.set_defaults(handler=cmd_add)

    lst = sub.add_parser("list", help="list aliases and lists")
    lst.add_argument("domain", metavar="DOMAIN", nargs="?", help="only this domain's")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    cliutil.add_config_argument(lst)
    lst.set_defaults(handler=cmd_list)

    rm = sub.add_parser("remove", help="delete an alias")
    rm.add_argument("source", metavar="SOURCE")
    cliutil.add_config_argument(rm)
    rm.set_defaults(handler=cmd_remove)


def cmd_add(args: argparse.Namespace) -> int:
    source = validate.alias_source(args.source)
    members = validate.destinations(args.destinations)
    settings = cliutil.load_settings(args)
    with db.transaction() as cur:
        aliases.add(cur, source, members, max_members=cliutil.max_list_members(settings))
        unknown = aliases.unknown_local_destinations(cur, members)
    for member in unknown:
        cliutil.warn(f"{member} is neither a mailbox nor an alias here: mail to it will bounce")
    print(f"alias {source} added -> {', '.join(members)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    domain = validate.domain(args.domain) if args.domain else None
    with db.transaction() as cur:
        rows = aliases.list_all(cur, domain)
    if args.json:
        cliutil.print_json(
            [{"address": r["address"], "destinations": r["goto"], "active": bool(r["active"])} for r in rows]
        )
        return 0
    if not rows:
        print("no alias" + (f" in {domain}" if domain else ""))
        return 0
    cliutil.print_table(
        [[r["address"] or "", ", ".join(r["goto"]) + ("" if r["active"] else " (inactive)")] for r in rows],
        ["ADDRESS", "DESTINATIONS"],
    )
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    source = validate.alias_source(args.source)
    with db.transaction() as cur:
        aliases.remove(cur, source)
    print(f"alias {source} removed")
    return 0
