"""`facteur certificate issue|renew`: the ACME certificate (tls.mode acme), by hand or on schedule.

`facteur install` runs `issue` at its end, `facteur domain add|remove` run it after a change,
and a timer (cron without systemd) runs `renew` twice a day.
"""

from __future__ import annotations

import argparse

from facteur.acme import issue
from facteur.admin.cliutil import add_config_argument, load_settings, print_json, say
from facteur.errors import FacteurError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `certificate` command."""
    parser = subparsers.add_parser(
        "certificate", help="obtain or renew the ACME certificate (tls.mode acme)",
        description="Obtain, re-issue or renew the certificate from the ACME server (tls.mode acme). "
        "Exit status 3 if certbot failed; `facteur status` then shows why.")
    commands = parser.add_subparsers(dest="certificate_command", metavar="ACTION", required=True)

    issue_parser = commands.add_parser(
        "issue", help="get a certificate if the names, the ACME server or the end date call for one")
    issue_parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_config_argument(issue_parser)
    issue_parser.set_defaults(handler=certificate_issue)

    renew_parser = commands.add_parser("renew", help="renew the certificate if it is due (the scheduled run)")
    renew_parser.add_argument("--force", action="store_true", help="renew now, even if it is not due")
    add_config_argument(renew_parser)
    renew_parser.set_defaults(handler=certificate_renew)


def _acme_settings(args: argparse.Namespace):
    settings = load_settings(args)
    if settings.tls.mode != "acme":
        raise FacteurError(f"tls.mode is {settings.tls.mode!r}: certificates come from an ACME server "
                           "only in mode 'acme' (facteur install makes the others)")
    return settings


def certificate_issue(args: argparse.Namespace) -> int:
    outcome = issue.ensure(_acme_settings(args))
    if args.json:
        print_json({"step": outcome.step, "changed": outcome.changed, "names": list(outcome.names),
                    "reason": outcome.reason})
    elif outcome.step == "issued":
        say(f"certificate issued for {', '.join(outcome.names)} ({outcome.reason}); the services use it")
    elif outcome.step == "deployed":
        say("the services now use certbot's current certificate")
    else:
        say(f"certificate up to date ({len(outcome.names)} names)")
    return 0


def certificate_renew(args: argparse.Namespace) -> int:
    outcome = issue.renew(_acme_settings(args), force=args.force)
    if outcome.changed:
        say("certificate renewed; the services use it")
    else:
        say("certificate not due for renewal")
    return 0
