"""`facteur status`: services, mail queue, disk, certificate and ports, each ok / warning / error."""

from __future__ import annotations

import argparse
import json
import sys

from facteur.checks import exit_code, format_results, to_json
from facteur.checks.system import status_checks


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `status` command."""
    parser = subparsers.add_parser(
        "status",
        help="health of the mail system, with how to fix what is wrong",
        description="Check the services (postfix, dovecot, mariadb, fail2ban), the mail queue, disk space, "
        "the TLS certificate and the mail ports. Exit status 1 if any check is an error.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--config", metavar="PATH", default=None, help="facteur configuration file")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    results = status_checks()
    if args.json:
        json.dump(to_json(results), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for line in format_results(results):
            print(line)
    return exit_code(results)
