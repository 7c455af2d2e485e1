"""`facteur mailbox add|list|passwd|quota|remove`."""

from __future__ import annotations

import argparse

from facteur.admin import cliutil, db, mailboxes, passwords, validate
from facteur.errors import FacteurError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `mailbox` command."""
    parser = subparsers.add_parser("mailbox", help="mailboxes", description="Manage mailboxes.")
    sub = parser.add_subparsers(dest="mailbox_command", metavar="ACTION", required=True)

    add = sub.add_parser(
        "add",
        help="create a mailbox",
        description="Create mailbox ADDRESS. The password is read from standard input (one line, "
        "at least 8 characters), never from the command line.",
    )
    add.add_argument("address", metavar="ADDRESS")
    _password_argument(add)
    add.add_argument(
        "--quota",
        metavar="SIZE",
        help="size limit such as 500M or 2G; 0 = unlimited (default: limits.default_quota_mb)",
    )
    add.add_argument("--name", default="", help="the owner's full name")
    cliutil.add_config_argument(add)
    add.set_defaults(handler=cmd_add)

    lst = sub.add_parser("list", help="list mailboxes")
    lst.add_argument("domain", metavar="DOMAIN", nargs="?", help="only this domain's")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    cliutil.add_config_argument(lst)
    lst.set_defaults(handler=cmd_list)

    pw = sub.add_parser("passwd", help="change a mailbox's password (read from standard input)")
    pw.add_argument("address", metavar="ADDRESS")
    _password_argument(pw)
    cliutil.add_config_argument(pw)
    pw.set_defaults(handler=cmd_passwd)

    quota = sub.add_parser("quota", help="change a mailbox's size limit")
    quota.add_argument("address", metavar="ADDRESS")
    quota.add_argument("size", metavar="SIZE", help="such as 500M or 2G; 0 = unlimited")
    cliutil.add_config_argument(quota)
    quota.set_defaults(handler=cmd_quota)

    rm = sub.add_parser(
        "remove",
        help="delete a mailbox",
        description="Delete mailbox ADDRESS from the database. Its mail stays in /var/vmail/DOMAIN/NAME "
        "unless --delete-mail is given.",
    )
    rm.add_argument("address", metavar="ADDRESS")
    rm.add_argument("--delete-mail", action="store_true", help="also delete the stored mail")
    cliutil.add_config_argument(rm)
    rm.set_defaults(handler=cmd_remove)


def _password_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (required: passwords never go on the command line)",
    )


def _read_password(args: argparse.Namespace) -> str:
    if not args.password_stdin:
        raise FacteurError(
            "give the password on standard input with --password-stdin"
            " (example: printf '%s\\n' \"$PASSWORD\" | facteur mailbox ... --password-stdin)"
        )
    return passwords.read_password()


def cmd_add(args: argparse.Namespace) -> int:
    address = validate.mailbox_address(args.address)
    settings = cliutil.load_settings(args)
    quota = validate.quota(args.quota) if args.quota is not None else cliutil.default_quota_bytes(settings)
    password_hash = passwords.hash_password(_read_password(args))
    with db.transaction() as cur:
        mailboxes.add(cur, address, password_hash, quota_bytes=quota, name=args.name.strip())
    print(f"mailbox {address} added (quota {validate.format_size(quota)})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    domain = validate.domain(args.domain) if args.domain else None
    with db.transaction() as cur:
        rows = mailboxes.list_all(cur, domain)
    if args.json:
        cliutil.print_json(
            [
                {
                    "address": r["username"],
                    "name": r["name"],
                    "quota_bytes": int(r["quota"]),
                    "active": bool(r["active"]),
                    "created": r["created"],
                }
                for r in rows
            ]
        )
        return 0
    if not rows:
        print("no mailbox" + (f" in {domain}" if domain else ""))
        return 0
    cliutil.print_table(
        [
            [r["username"], validate.format_size(int(r["quota"])), "active" if r["active"] else "inactive", r["name"]]
            for r in rows
        ],
        ["ADDRESS", "QUOTA", "STATUS", "NAME"],
    )
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    address = validate.address(args.address)
    password_hash = passwords.hash_password(_read_password(args))
    with db.transaction() as cur:
        mailboxes.set_password(cur, address, password_hash)
    print(f"password of {address} changed")
    return 0


def cmd_quota(args: argparse.Namespace) -> int:
    address = validate.address(args.address)
    quota = validate.quota(args.size)
    with db.transaction() as cur:
        mailboxes.set_quota(cur, address, quota)
    print(f"quota of {address} set to {validate.format_size(quota)}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    address = validate.address(args.address)
    with db.transaction() as cur:
        mailboxes.remove(cur, address)
    if args.delete_mail:
        path = mailboxes.home(address)
        if mailboxes.delete_maildir(address):
            print(f"mailbox {address} removed, and its mail ({path})")
        else:
            print(f"mailbox {address} removed (it had no mail directory)")
    else:
        print(f"mailbox {address} removed; its mail stays in {mailboxes.home(address)}")
    return 0
