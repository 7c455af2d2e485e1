"""Keep facteur's ACME certificate what it should be: `facteur certificate issue` and `renew`.

`ensure()` runs at install (the acme role, at the end, nginx serving port 80) and after a domain
is added or removed: it asks the ACME server for a certificate only when the names, the server or
the end date call for one, and otherwise only makes sure the services use certbot's current files.
`renew()` is the scheduled run. Both record their outcome (facteur.acme.record, .metrics) and hold a
lock, so that a renewal and a `facteur domain add` never run certbot at the same time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from facteur.acme import certbot, lineage, metrics, names, paths, record
from facteur.acme.lineage import Lineage
from facteur.acme.paths import Layout
from facteur.config.schema import Settings
from facteur.errors import FacteurError

# A certificate this close to its end is replaced by `ensure()` too (certbot's own renewal margin).
RENEW_BEFORE = timedelta(days=30)
# Exit code of `facteur certificate issue|renew` when certbot failed (and the failure is recorded):
# the install goes on with the certificate the services have, and reports it at the end.
CERTBOT_FAILED = 3

Runner = Callable[..., subprocess.CompletedProcess]


class CertbotFailed(FacteurError):
    """certbot could not obtain or renew the certificate; the services keep the one they have."""

    def __init__(self, message: str) -> None:
        super().__init__(message, CERTBOT_FAILED)


@dataclass(frozen=True)
class Outcome:
    step: str                # "issued", "deployed", "unchanged", "renewed", "not due"
    names: tuple[str, ...]
    changed: bool
    reason: str = ""         # why certbot was asked (issue)


def decide(wanted: Sequence[str], current: Lineage | None, server: str, now: datetime,
           deployed: bool) -> tuple[str, str]:
    """Return (step, reason): step "certbot" (a new certificate is needed), "deploy" (certbot's
    current one is right but the services use another) or "nothing"."""
    if current is None:
        return "certbot", "no certificate from the ACME server yet"
    if not current.covers_exactly(list(wanted)):
        added = sorted(set(wanted) - set(current.names))
        removed = sorted(set(current.names) - set(wanted))
        change = ", ".join([*(f"+{n}" for n in added), *(f"-{n}" for n in removed)])
        return "certbot", f"the names changed ({change})"
    if current.server != server:
        return "certbot", f"the ACME server changed to {server}"
    if current.not_after - now < RENEW_BEFORE:
        return "certbot", f"the certificate ends on {current.not_after:%Y-%m-%d}"
    if not deployed:
        return "deploy", "the services do not use certbot's current certificate"
    return "nothing", ""


@contextlib.contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    """Hold facteur's ACME lock (waits for another run to finish)."""
    layout.lock_file.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    with open(layout.lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _record(action: str, ok: bool, changed: bool, started: float, error: str, layout: Layout) -> None:
    run = record.write(action, ok, changed, time.monotonic() - started, error, path=layout.record_file)
    metrics.write(run, path=layout.textfile)


def deploy(layout: Layout, domains: Sequence[str]) -> None:
    """Run the deploy hook on certbot's current files, as certbot would after a renewal.

    Raise FacteurError if the hook fails (its last line of output says why).
    """
    env = {**os.environ, "RENEWED_LINEAGE": str(layout.live), "RENEWED_DOMAINS": " ".join(domains)}
    try:
        proc = subprocess.run([str(layout.deploy_hook)], env=env, capture_output=True, text=True,
                              timeout=300, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FacteurError(f"the deploy hook {layout.deploy_hook} did not run: {exc}") from None
    if proc.returncode != 0:
        lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
        why = lines[-1] if lines else f"exit status {proc.returncode}"
        raise FacteurError(f"the deploy hook {layout.deploy_hook} failed: {why}")


def _deploy_if_needed(layout: Layout) -> None:
    # certbot runs the hook itself; this repairs the services' copy if the hook could not finish.
    current = lineage.read(layout.config)
    if current is not None and not current.deployed(layout.tls_dir):
        deploy(layout, current.names)


def ensure(settings: Settings, db_domains: Sequence[str] | None = None, layout: Layout = paths.DEFAULT,
           run: Runner = certbot.run, now: datetime | None = None) -> Outcome:
    """Make the certificate cover the hosted names (config and database) and the services use it.

    `db_domains`: the database's hosted domains (None: read them). Raise CertbotFailed if certbot
    fails (recorded for `facteur status` and the monitoring), FacteurError for anything else.
    """
    if db_domains is None:
        from facteur.admin import db

        with db.transaction() as cur:
            db_domains = names.hosted_domains(cur)
    wanted = names.wanted(settings, db_domains)
    server = settings.tls.acme_server
    with _locked(layout):
        current = lineage.read(layout.config)
        deployed = current is not None and current.deployed(layout.tls_dir)
        step, reason = decide(wanted, current, server, now or datetime.now(UTC), deployed)
        if step == "nothing":
            return Outcome("unchanged", tuple(wanted), False)
        if step == "deploy":
            deploy(layout, current.names)
            return Outcome("deployed", tuple(wanted), True, reason)
        started = time.monotonic()
        argv = certbot.issue_argv(wanted, server, settings.tls.acme_email, layout)
        proc = run(argv, ca_bundle=settings.tls.acme_ca_bundle)
        if proc.returncode != 0:
            error = certbot.failure_reason(f"{proc.stdout}\n{proc.stderr}")
            _record("issue", False, False, started, error, layout)
            raise CertbotFailed(f"the ACME server at {server} did not issue the certificate: {error}")
        _record("issue", True, True, started, "", layout)
        _deploy_if_needed(layout)
        return Outcome("issued", tuple(wanted), True, reason)


def renew(settings: Settings, force: bool = False, layout: Layout = paths.DEFAULT,
          run: Runner = certbot.run) -> Outcome:
    """Renew the certificate if it is due (or now, with `force`); the deploy hook installs it.

    Raise CertbotFailed (recorded) if there is no certificate to renew or certbot fails.
    """
    with _locked(layout):
        started = time.monotonic()
        before = lineage.read(layout.config)
        if before is None:
            error = ("no certificate to renew (the first issuance has not succeeded): "
                     "run facteur certificate issue")
            _record("renew", False, False, started, error, layout)
            raise CertbotFailed(error)
        proc = run(certbot.renew_argv(force, layout), ca_bundle=settings.tls.acme_ca_bundle)
        if proc.returncode != 0:
            error = certbot.failure_reason(f"{proc.stdout}\n{proc.stderr}")
            _record("renew", False, False, started, error, layout)
            raise CertbotFailed(f"renewal from {before.server or settings.tls.acme_server} failed: {error}")
        after = lineage.read(layout.config)
        changed = after is not None and after.serial != before.serial
        _record("renew", True, changed, started, "", layout)
        _deploy_if_needed(layout)
        return Outcome("renewed" if changed else "not due", after.names if after else (), changed)
