"""`facteur check`: live self-test — submit a probe message and read it back over IMAP."""

from __future__ import annotations

import argparse
import json
import sys

from facteur.checks import CheckResult, exit_code, format_result, to_json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `check` command."""
    parser = subparsers.add_parser(
        "check",
        help="live self-test: send a probe message and read it back",
        description="Create a temporary probe mailbox in the first domain, submit a message on port 587 "
        "(STARTTLS, login), read it back over IMAPS (port 993, at most 30 s), then remove the probe "
        "mailbox and its mail. Exit status 1 if a step fails.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--config", metavar="PATH", default=None, help="facteur configuration file")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from facteur.checks.probe import run_probe
    from facteur.config.load import load_settings

    settings = load_settings(args.config)

    def report(result: CheckResult) -> None:
        if not args.json:
            print(format_result(result), flush=True)

    results = run_probe(settings, report=report)
    if args.json:
        json.dump(to_json(results), sys.stdout, indent=2)
        sys.stdout.write("\n")
    return exit_code(results)
