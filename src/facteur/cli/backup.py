"""`facteur backup run|list|restore|verify`: restic snapshots of the databases, mail and settings."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from facteur.admin.cliutil import add_config_argument, load_settings
from facteur.backup import jobs
from facteur.errors import FacteurError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="back up, list, restore and verify snapshots (restic)",
        description="Snapshots of every facteur database, the mail and Sieve scripts (/var/vmail) and "
        "/etc/facteur (configuration, secrets, keys, certificates) in an encrypted restic repository.",
    )
    add_config_argument(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    run = actions.add_parser("run", help="take a snapshot now and apply the retention policy")
    run.set_defaults(handler=handle_run)

    listing = actions.add_parser("list", help="list the snapshots")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=handle_list)

    restore = actions.add_parser(
        "restore", help="restore a snapshot onto this machine",
        description="Restore databases, secrets, certificates and mail from a snapshot, then run "
        "`facteur install`. Live mail newer than the snapshot is kept. On a new machine: `facteur "
        "install` with the same configuration first, then restore with --password-file.")
    which = restore.add_mutually_exclusive_group(required=True)
    which.add_argument("--snapshot", metavar="ID", help="snapshot id (or its first characters)")
    which.add_argument("--latest", action="store_true", help="the newest snapshot")
    restore.add_argument("--password-file", type=Path, metavar="FILE",
                         help="repository password (default: the secret backup-password)")
    restore.add_argument("--yes", action="store_true",
                         help="confirm: the databases are replaced by the snapshot's")
    restore.set_defaults(handler=handle_restore)

    verify = actions.add_parser(
        "verify", help="check the repository and compare the latest snapshot with the live data")
    verify.set_defaults(handler=handle_verify)


def _root() -> None:
    if os.geteuid() != 0:
        raise FacteurError("backup commands must run as root (try: sudo facteur backup ...)")


def handle_run(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    _root()
    jobs.run(settings)
    return 0


def handle_list(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    _root()
    snapshots = jobs.repository(settings).snapshots()
    if args.json:
        json.dump([{"id": s.id, "time": s.time, "host": s.hostname, "paths": list(s.paths)}
                   for s in snapshots], sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif not snapshots:
        print("no snapshot yet (run `facteur backup run`)")
    else:
        for snap in snapshots:
            print(f"{snap.short_id}  {snap.time[:19].replace('T', ' ')}  {snap.hostname}")
    return 0


def handle_restore(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    _root()
    if not args.yes:
        raise FacteurError("restore replaces the databases with the snapshot's; add --yes to go ahead", 2)
    if args.password_file is not None and not args.password_file.is_file():
        raise FacteurError(f"password file {args.password_file} does not exist", 2)
    jobs.restore(settings, None if args.latest else args.snapshot, args.password_file,
                 reinstall=jobs.install_again)
    return 0


def handle_verify(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    _root()
    return 0 if jobs.verify(settings) else 1
