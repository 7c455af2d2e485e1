"""`facteur install`: configure this machine (or an inventory) as the mail server the config describes."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from facteur import roles_vars, runner, secrets
from facteur.acme import record as acme_record
from facteur.acme.issue import CertbotFailed
from facteur.config.load import config_path, load_settings
from facteur.config.schema import Settings
from facteur.errors import FacteurError

ADMIN_SECRET = "admin-password"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "install",
        help="install or update the whole mail stack (idempotent)",
        description="Install or update the mail stack on this machine from the configuration. "
        "Run again after changing the config: only what differs changes.",
    )
    parser.add_argument("--config", type=Path, metavar="PATH",
                        help="configuration file (default: $FACTEUR_CONFIG or /etc/facteur/facteur.yml)")
    parser.add_argument("--check", action="store_true",
                        help="show what would change; change nothing (Ansible's check mode)")
    parser.add_argument("--diff", action="store_true", help="show the differences in changed files")
    parser.add_argument("--inventory", metavar="FILE",
                        help="Ansible inventory to configure instead of this machine")
    parser.add_argument("--tags", metavar="TAGS", help="run only the Ansible tasks with these tags")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Install, following docs/development.md's install flow; return 0 or raise FacteurError.

    A bad config raises ConfigError (exit 2) before anything is touched; so does not being root.
    """
    settings = load_settings(args.config)
    if os.geteuid() != 0:
        raise FacteurError("install must run as root (try: sudo facteur install)")
    started = datetime.now(UTC).replace(microsecond=0)
    with _secrets_for_run(check=args.check) as (secrets_path, created):
        result = _run_playbook(settings, secrets_path, args)
        if not result.success:
            raise FacteurError(result.failure_line())
        if args.inventory and not args.check:
            # seed() works on this machine's database; other hosts get theirs from a local install.
            print("note: accounts not seeded (--inventory): run `facteur install` on the mail host for that")
        elif not args.check:
            _seed(settings, created)
            _dkim_keys(settings)
    print(f"install complete: ok={result.ok} changed={result.changed} failed={result.failed}")
    if args.check:
        print("(check mode: nothing was changed)")
    elif ADMIN_SECRET in created:
        # Shown once, on the terminal only (the log never sees it); root can read it again later.
        print(f"admin login: {settings.admin_email}")
        print(f"admin password: {secrets.read(ADMIN_SECRET, secrets_path)}")
        print(f"(shown once; kept in {created[ADMIN_SECRET]})")
    if settings.tls.mode == "acme" and not args.check and not args.inventory:
        _report_acme(started)
    return 0


def _report_acme(started: datetime) -> None:
    """Raise CertbotFailed if the acme role's certbot run of this install failed.

    The role lets the install finish (the services work with the certificate they have: the local
    CA's temporary one at first), so that the failure is told once, at the end, with its cause.
    """
    last = acme_record.read()
    if last is not None and not last.ok and last.action == "issue" and last.finished_at >= started:
        raise CertbotFailed(
            f"everything is installed, but the ACME server did not issue the certificate: {last.error}. "
            "The services keep their current certificate; fix the cause, then run: facteur certificate issue"
        )


@contextlib.contextmanager
def _secrets_for_run(*, check: bool) -> Iterator[tuple[Path, dict[str, Path]]]:
    """Yield (secrets dir, secrets created) for this run.

    A real run makes the missing secrets in the secrets dir, once and for all. A check run must not
    touch the machine, yet the roles read every secret: it works on a private temporary copy, with
    the missing ones made there and thrown away afterwards.
    """
    real = secrets.secrets_dir()
    if not check:
        yield real, secrets.ensure(real)
        return
    scratch = Path(tempfile.mkdtemp(prefix="facteur-secrets-"))  # 0700
    try:
        if real.is_dir():
            for file in real.iterdir():
                if file.name in secrets.SECRET_NAMES and file.is_file():
                    shutil.copy2(file, scratch / file.name)
        yield scratch, secrets.ensure(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_playbook(settings: Settings, secrets_path: Path, args: argparse.Namespace) -> runner.RunResult:
    """Write the role variables to a private temporary file, run the playbook, delete the file."""
    variables = roles_vars.build(settings, secrets_path, config_path(args.config).resolve())
    fd, name = tempfile.mkstemp(prefix="facteur-vars-", suffix=".json")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(variables, handle, indent=2)
        return runner.run_playbook(
            name, inventory=args.inventory, check=args.check, diff=args.diff, tags=args.tags
        )
    finally:
        Path(name).unlink(missing_ok=True)


def _seed(settings: Settings, created: dict[str, Path]) -> None:
    """Call facteur.admin.seed(settings, created) if that module provides it (accounts in the DB) and
    print what it reports having created."""
    try:
        admin = importlib.import_module("facteur.admin")
    except ModuleNotFoundError as exc:
        if exc.name != "facteur.admin":
            raise
        return
    seed = getattr(admin, "seed", None)
    if seed is None:
        return
    done = seed(settings, list(created))
    if isinstance(done, list):
        for line in done:
            print(f"created {line}")


def _dkim_keys(settings: Settings) -> None:
    """Make the DKIM key of every configured domain that has none (rspamd signs with them)."""
    if not settings.filter.enabled:
        return
    from facteur import dkim

    for domain in settings.domains:
        if dkim.ensure_key(domain, settings.filter.dkim_selector):
            print(f"created DKIM key for {domain} (publish it: facteur dkim show {domain})")
