"""`facteur mailbox add|list|passwd|quota|remove`."""

from __future__ import annotations

import argparse

from facteur.admin import db, mailboxes, passwords, sogo_cache
from facteur.admin.cliutil import add_config_argument, load_settings, note, print_json, say, table
from facteur.admin.validate import (
    MIB,
    format_size,
    normalize_address,
    normalize_domain,
    normalize_name,
    parse_size,
)
from facteur.errors import FacteurError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `mailbox` command."""
    parser = subparsers.add_parser("mailbox", help="add, list, change or remove mailboxes")
    commands = parser.add_subparsers(dest="mailbox_command", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="create a mailbox")
    add.add_argument("address", help="like alice@example.org")
    _password_argument(add)
    add.add_argument("--quota", metavar="SIZE",
                     help="500M, 2G, 0 = unlimited (default: limits.default_quota_mb)")
    add.add_argument("--name", default="", help="full name, shown in PostfixAdmin")
    add_config_argument(add)
    add.set_defaults(handler=mailbox_add)

    show = commands.add_parser("list", help="list mailboxes (all, or of one domain)")
    show.add_argument("domain", nargs="?", help="only this domain")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    add_config_argument(show)
    show.set_defaults(handler=mailbox_list)

    passwd = commands.add_parser("passwd", help="set a new password")
    passwd.add_argument("address")
    _password_argument(passwd)
    add_config_argument(passwd)
    passwd.set_defaults(handler=mailbox_passwd)

    quota = commands.add_parser("quota", help="change the quota of a mailbox")
    quota.add_argument("address")
    quota.add_argument("size", metavar="SIZE", help="500M, 2G, 0 = unlimited")
    add_config_argument(quota)
    quota.set_defaults(handler=mailbox_quota)

    remove = commands.add_parser("remove", help="remove a mailbox (its mail is kept unless --delete-mail)")
    remove.add_argument("address")
    remove.add_argument("--delete-mail", action="store_true",
                        help="also delete its mail from /var/vmail (cannot be undone)")
    add_config_argument(remove)
    remove.set_defaults(handler=mailbox_remove)


def _password_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from standard input (one line; asked twice on a terminal)",
    )


def mailbox_add(args: argparse.Namespace) -> int:
    address = normalize_address(args.address)
    name = normalize_name(args.name)
    if args.quota is not None:
        quota = parse_size(args.quota)
    else:
        quota = load_settings(args).limits.default_quota_mb * MIB
    with db.transaction() as cur:  # refuse before asking for a password
        mailboxes.check_can_add(cur, address)
    password = passwords.read_password()
    password_hash = passwords.hash_password(password)
    with db.transaction() as cur:
        mailboxes.add_mailbox(cur, address, password_hash, name=name, quota_bytes=quota)
    # SOGo's personal calendar and address book, so that invitations from local users land in it.
    sogo_cache.open_account(address, password)
    say(f"mailbox {address} created (quota {format_size(quota)})")
    return 0


def mailbox_list(args: argparse.Namespace) -> int:
    domain = normalize_domain(args.domain) if args.domain else None
    with db.transaction() as cur:
        rows = mailboxes.list_mailboxes(cur, domain)
    if args.json:
        print_json([
            {
                "address": row["address"],
                "name": row["name"],
                "quota_bytes": int(row["quota"]),
                "active": bool(row["active"]),
                "created": row["created"],
                "modified": row["modified"],
            }
            for row in rows
        ])
        return 0
    if not rows:
        say("no mailboxes" + (f" in {domain}" if domain else ""))
        return 0
    say(table(
        [(row["address"], format_size(int(row["quota"])), "yes" if row["active"] else "no", row["name"])
         for row in rows],
        ("ADDRESS", "QUOTA", "ACTIVE", "NAME"),
    ))
    return 0


def mailbox_passwd(args: argparse.Namespace) -> int:
    address = normalize_address(args.address)
    with db.transaction() as cur:  # fail on an unknown mailbox before asking for a password
        mailboxes.require_mailbox(cur, address)
    password = passwords.read_password()
    password_hash = passwords.hash_password(password)
    with db.transaction() as cur:
        mailboxes.set_password(cur, address, password_hash)
    sogo_cache.forget_user(address)  # SOGo would otherwise accept only the old one for minutes
    sogo_cache.open_account(address, password)  # a mailbox made elsewhere gets its calendar too
    say(f"password of {address} changed")
    return 0


def mailbox_quota(args: argparse.Namespace) -> int:
    address = normalize_address(args.address)
    quota = parse_size(args.size)
    with db.transaction() as cur:
        mailboxes.set_quota(cur, address, quota)
    say(f"quota of {address} set to {format_size(quota)}")
    return 0


def mailbox_remove(args: argparse.Namespace) -> int:
    address = normalize_address(args.address)
    with db.transaction() as cur:
        still_named = mailboxes.remove_mailbox(cur, address)
    sogo_cache.forget_user(address)
    say(f"mailbox {address} removed")
    home = mailboxes.home_of(address)
    if args.delete_mail:
        try:
            if mailboxes.delete_maildir(address):
                say(f"its mail in {home} was deleted")
        except OSError as exc:
            reason = exc.strerror or exc
            raise FacteurError(f"mailbox removed, but {home} could not be deleted: {reason}") from None
    elif home.exists():
        note(f"its mail is kept in {home} (delete it with: rm -r {home})")
    for alias in still_named:
        note(f"{alias} still lists {address}: facteur list remove-member {alias} {address}")
    return 0
