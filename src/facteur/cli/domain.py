"""`facteur domain add|list|remove` and `facteur alias-domain add|list|remove`."""

from __future__ import annotations

import argparse

from facteur.admin import alias_domains, cliutil, db, domains, validate


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `domain` and `alias-domain` commands."""
    _register_domain(subparsers)
    register_alias_domain(subparsers)


def _register_domain(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("domain", help="hosted domains", description="Manage hosted domains.")
    sub = parser.add_subparsers(dest="domain_command", metavar="ACTION", required=True)

    add = sub.add_parser(
        "add",
        help="host a new domain",
        description="Host DOMAIN. Creates abuse@, hostmaster@, postmaster@ and webmaster@ as aliases "
        "of the administrator's address (admin_email). Then publish its DNS records: facteur dns DOMAIN.",
    )
    add.add_argument("domain", metavar="DOMAIN")
    cliutil.add_config_argument(add)
    add.set_defaults(handler=cmd_add)

    lst = sub.add_parser("list", help="list hosted domains")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    cliutil.add_config_argument(lst)
    lst.set_defaults(handler=cmd_list)

    rm = sub.add_parser(
        "remove",
        help="stop hosting a domain",
        description="Delete DOMAIN with its aliases and lists. Refused while it has mailboxes, unless "
        "--force (then its mailboxes go too; their mail stays in /var/vmail/DOMAIN).",
    )
    rm.add_argument("domain", metavar="DOMAIN")
    rm.add_argument("--force", action="store_true", help="also delete the domain's mailboxes")
    cliutil.add_config_argument(rm)
    rm.set_defaults(handler=cmd_remove)


def register_alias_domain(subparsers: argparse._SubParsersAction) -> None:
    """Add the `alias-domain` command (registered by register() too)."""
    parser = subparsers.add_parser(
        "alias-domain",
        help="domains whose mail goes to another hosted domain",
        description="Manage alias domains: mail to anything@ALIAS is delivered to anything@TARGET.",
    )
    sub = parser.add_subparsers(dest="alias_domain_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="make ALIAS an alias domain of TARGET")
    add.add_argument("alias", metavar="ALIAS")
    add.add_argument("target", metavar="TARGET")
    cliutil.add_config_argument(add)
    add.set_defaults(handler=cmd_alias_add)

    lst = sub.add_parser("list", help="list alias domains")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    cliutil.add_config_argument(lst)
    lst.set_defaults(handler=cmd_alias_list)

    rm = sub.add_parser("remove", help="stop receiving mail for an alias domain")
    rm.add_argument("alias", metavar="ALIAS")
    cliutil.add_config_argument(rm)
    rm.set_defaults(handler=cmd_alias_remove)


def cmd_add(args: argparse.Namespace) -> int:
    domain = validate.domain(args.domain)
    settings = cliutil.load_settings(args)
    admin_email = validate.address(settings.admin_email)
    with db.transaction() as cur:
        domains.add(cur, domain, admin_email)
    print(f"domain {domain} added; abuse@, hostmaster@, postmaster@, webmaster@ go to {admin_email}")
    print(f"next: publish its DNS records (facteur dns {domain}), then add mailboxes:")
    print(f"  facteur mailbox add NAME@{domain} --password-stdin")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with db.transaction() as cur:
        rows = domains.list_all(cur)
    if args.json:
        cliutil.print_json(
            [
                {
                    "domain": r["domain"],
                    "active": bool(r["active"]),
                    "mailboxes": int(r["mailboxes"]),
                    "aliases": int(r["aliases"]),
                    "alias_of": r["alias_of"],
                    "created": r["created"],
                }
                for r in rows
            ]
        )
        return 0
    if not rows:
        print("no domain yet (add one: facteur domain add example.org)")
        return 0
    cliutil.print_table(
        [
            [
                r["domain"],
                str(r["mailboxes"]),
                str(r["aliases"]),
                f"alias of {r['alias_of']}" if r["alias_of"] else ("active" if r["active"] else "inactive"),
            ]
            for r in rows
        ],
        ["DOMAIN", "MAILBOXES", "ALIASES", "STATUS"],
    )
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    domain = validate.domain(args.domain)
    with db.transaction() as cur:
        gone = domains.remove(cur, domain, force=args.force)
    print(f"domain {domain} removed ({gone['mailboxes']} mailbox(es), {gone['aliases']} alias(es) deleted)")
    if gone["mailboxes"]:
        print(f"the mail of its mailboxes stays in /var/vmail/{domain} (delete it by hand when unneeded)")
    return 0


def cmd_alias_add(args: argparse.Namespace) -> int:
    alias = validate.domain(args.alias)
    target = validate.domain(args.target)
    with db.transaction() as cur:
        created = alias_domains.add(cur, alias, target)
    if created:
        print(f"alias domain {alias} added: mail to NAME@{alias} goes to NAME@{target}")
        print(f"next: publish its DNS records (facteur dns {alias})")
    else:
        print(f"{alias} is already an alias domain of {target}; nothing changed")
    return 0


def cmd_alias_list(args: argparse.Namespace) -> int:
    with db.transaction() as cur:
        rows = alias_domains.list_all(cur)
    if args.json:
        cliutil.print_json(
            [
                {
                    "alias": r["alias_domain"],
                    "target": r["target_domain"],
                    "active": bool(r["active"]),
                    "created": r["created"],
                }
                for r in rows
            ]
        )
        return 0
    if not rows:
        print("no alias domain (add one: facteur alias-domain add ALIAS TARGET)")
        return 0
    cliutil.print_table(
        [[r["alias_domain"], r["target_domain"], "active" if r["active"] else "inactive"] for r in rows],
        ["ALIAS", "TARGET", "STATUS"],
    )
    return 0


def cmd_alias_remove(args: argparse.Namespace) -> int:
    alias = validate.domain(args.alias)
    with db.transaction() as cur:
        alias_domains.remove(cur, alias)
    print(f"alias domain {alias} removed")
    return 0
