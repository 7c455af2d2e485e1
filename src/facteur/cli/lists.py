"""`facteur list add|add-member|remove-member|show|remove`: distribution lists.

A list is an alias with several destinations; it may have at most limits.max_list_members of them.
"""

from __future__ import annotations

import argparse

from facteur.admin import aliases, db
from facteur.admin.cliutil import add_config_argument, load_settings, print_json, say
from facteur.admin.validate import normalize_address, normalize_destination


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `list` command."""
    parser = subparsers.add_parser("list", help="create and change distribution lists")
    commands = parser.add_subparsers(dest="list_command", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="create a list")
    add.add_argument("list", metavar="LIST", help="the list's address, like team@example.org")
    add.add_argument("--member", action="append", required=True, metavar="ADDR",
                     help="a member (repeat for each member)")
    add_config_argument(add)
    add.set_defaults(handler=list_add)

    add_member = commands.add_parser("add-member", help="add a member to a list")
    add_member.add_argument("list", metavar="LIST")
    add_member.add_argument("member", metavar="ADDR")
    add_config_argument(add_member)
    add_member.set_defaults(handler=list_add_member)

    remove_member = commands.add_parser("remove-member", help="remove a member from a list")
    remove_member.add_argument("list", metavar="LIST")
    remove_member.add_argument("member", metavar="ADDR")
    add_config_argument(remove_member)
    remove_member.set_defaults(handler=list_remove_member)

    show = commands.add_parser("show", help="show a list's members")
    show.add_argument("list", metavar="LIST")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    add_config_argument(show)
    show.set_defaults(handler=list_show)

    remove = commands.add_parser("remove", help="remove a list")
    remove.add_argument("list", metavar="LIST")
    add_config_argument(remove)
    remove.set_defaults(handler=list_remove)


def list_add(args: argparse.Namespace) -> int:
    address = normalize_address(args.list)
    limit = load_settings(args).limits.max_list_members
    # Checked before touching the database; add_alias() checks again inside the transaction.
    aliases.check_cap(address, aliases.normalize_members(args.member), limit)
    with db.transaction() as cur:
        members = aliases.add_alias(cur, address, args.member, max_members=limit)
    say(f"list {address} created with {len(members)} member{'s' if len(members) != 1 else ''}")
    return 0


def list_add_member(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    address, member = normalize_address(args.list), normalize_destination(args.member)
    with db.transaction() as cur:
        added = aliases.add_member(cur, address, member, max_members=settings.limits.max_list_members)
    say(f"{member} added to {address}" if added else f"{member} is already a member of {address}")
    return 0


def list_remove_member(args: argparse.Namespace) -> int:
    address, member = normalize_address(args.list), normalize_destination(args.member)
    with db.transaction() as cur:
        aliases.remove_member(cur, address, member)
    say(f"{member} removed from {address}")
    return 0


def list_show(args: argparse.Namespace) -> int:
    address = normalize_address(args.list)
    with db.transaction() as cur:
        info = aliases.show_alias(cur, address)
    if args.json:
        print_json(info)
        return 0
    count = len(info["members"])
    state = "" if info["active"] else ", inactive"
    say(f"{address}: {count} member{'s' if count != 1 else ''}{state}")
    for member in info["members"]:
        say(f"  {member}")
    return 0


def list_remove(args: argparse.Namespace) -> int:
    address = normalize_address(args.list)
    with db.transaction() as cur:
        aliases.remove_alias(cur, address)
    say(f"list {address} removed")
    return 0
