"""`facteur install`: configure this machine (or an inventory) as the mail server the config describes."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import tempfile
from pathlib import Path

from facteur import roles_vars, runner, secrets
from facteur.config.load import load_settings
from facteur.config.schema import Settings
from facteur.errors import FacteurError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "install",
        help="install or update the whole mail stack (idempotent)",
        description="Install or update the mail stack on this machine from the configuration. "
        "Run again after changing the config: only what differs changes.",
    )
    parser.add_argument("--config", type=Path, metavar="PATH",
                        help="configuration file (default: $FACTEUR_CONFIG or /etc/facteur/facteur.yml)")
    parser.add_argument("--check", action="store_true", help="show what would change; change nothing")
    parser.add_argument("--diff", action="store_true", help="show the differences in changed files")
    parser.add_argument("--inventory", metavar="FILE",
                        help="Ansible inventory to configure instead of this machine")
    parser.add_argument("--tags", metavar="TAGS", help="run only the Ansible tasks with these tags")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Install, following docs/development.md's install flow; return 0 or raise FacteurError."""
    settings = load_settings(args.config)  # exit 2 on a bad config, before anything is touched
    if os.geteuid() != 0:
        raise FacteurError("install must run as root (try: sudo facteur install)")
    created = secrets.ensure()
    result = _run_playbook(settings, args)
    if not result.success:
        raise FacteurError(result.failure_line())
    if not args.check:
        _seed(settings, created)
    print(f"install complete: ok={result.ok} changed={result.changed} failed={result.failed}")
    if args.check:
        print("(check mode: nothing was changed)")
    if "admin-password" in created and not args.check:
        # Shown once, on the terminal only; it stays readable by root in the secrets dir.
        print(f"admin login: {settings.admin_email}")
        print(f"admin password: {secrets.read('admin-password')}")
        print(f"(shown once; kept in {secrets.secrets_dir() / 'admin-password'})")
    return 0


def _run_playbook(settings: Settings, args: argparse.Namespace) -> runner.RunResult:
    """Write the role variables to a private temporary file, run the playbook, delete the file."""
    variables = roles_vars.build(settings)
    fd, name = tempfile.mkstemp(prefix="facteur-vars-", suffix=".json")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(variables, handle, indent=2)
        return runner.run_playbook(
            name, inventory=args.inventory, check=args.check, diff=args.diff, tags=args.tags
        )
    finally:
        Path(name).unlink(missing_ok=True)


def _seed(settings: Settings, created: set[str]) -> None:
    """Call facteur.admin.seed(settings, created) if that module provides it (accounts in the DB)."""
    try:
        admin = importlib.import_module("facteur.admin")
    except ModuleNotFoundError as exc:
        if exc.name != "facteur.admin":
            raise
        return
    seed = getattr(admin, "seed", None)
    if seed is not None:
        seed(settings, created)
