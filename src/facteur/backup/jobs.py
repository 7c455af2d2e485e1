"""The backup jobs: run (dump, snapshot, retention), restore, verify.

What a snapshot holds: a dump of every facteur database, the mail and Sieve scripts (/var/vmail),
and /etc/facteur (configuration, secrets, DKIM keys, TLS material). The repository password is the
secret `backup-password`; without a copy of it elsewhere, the backups of a lost machine are lost.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from facteur import secrets
from facteur.backup import databases, maildirs, metrics, record
from facteur.backup.restic import Repository, Snapshot
from facteur.config.schema import Settings
from facteur.errors import FacteurError

PASSWORD_SECRET = "backup-password"
MAIL_ROOT = Path("/var/vmail")
ETC_ROOT = Path("/etc/facteur")
WORK_ROOT = Path("/var/lib/facteur/backup")
DUMPS_DIR = WORK_ROOT / "dumps"
CONFIG_NAME = "facteur.yml"
# Stopped during a restore so that nothing writes mail or accounts meanwhile; senders retry later.
MAIL_SERVICES = ("postfix", "dovecot")

Say = Callable[[str], None]


def repository(settings: Settings, password_file: Path | None = None) -> Repository:
    """Return the configured repository, opened with `password_file` or the secret."""
    config = settings.backup
    env_file = Path(config.environment_file) if config.environment_file else None
    return Repository(config.repository, password_file or secrets.secrets_dir() / PASSWORD_SECRET, env_file)


def backup_paths() -> list[str]:
    return [str(path) for path in (DUMPS_DIR, MAIL_ROOT, ETC_ROOT) if path.exists()]


def run(settings: Settings, say: Say = print) -> str:
    """Dump the databases, take a snapshot, apply retention; record the outcome; return the id."""
    started = time.monotonic()
    repo = repository(settings)
    try:
        if not repo.exists():
            say(f"creating the backup repository {repo.location}")
            repo.init()
        dumps = databases.dump_all(DUMPS_DIR)
        snapshot = repo.backup(backup_paths(), settings.hostname)
        keep = settings.backup
        repo.forget(keep.keep_daily, keep.keep_weekly, keep.keep_monthly)
    except FacteurError as exc:
        metrics.write(record.write(ok=False, seconds=time.monotonic() - started, error=str(exc)))
        raise
    finally:
        shutil.rmtree(DUMPS_DIR, ignore_errors=True)  # the snapshot has them; no clear copy left around
    metrics.write(record.write(ok=True, seconds=time.monotonic() - started, snapshot=snapshot))
    say(f"snapshot {snapshot[:8]} saved: {len(dumps)} database(s), {MAIL_ROOT}, {ETC_ROOT} "
        f"({time.monotonic() - started:.0f}s)")
    say(f"keep a copy of {repo.password_file} away from this machine: without it no backup can be read")
    return snapshot


def _restored(staging: Path, live: Path) -> Path:
    return staging / live.relative_to("/")


def _service(name: str, action: str) -> None:
    subprocess.run(["service", name, action], capture_output=True, check=False, timeout=120)


def restore(settings: Settings, wanted: str | None, password_file: Path | None = None,
            say: Say = print, reinstall: Callable[[], None] | None = None) -> maildirs.MergeReport:
    """Restore snapshot `wanted` (None: the latest) onto this machine.

    Order: fetch the whole snapshot into a staging directory and check it (nothing changed yet);
    stop Postfix and Dovecot; put back secrets and TLS material; load the databases; merge the mail
    (live mail newer than the snapshot is kept and counted); then `facteur install` converges
    accounts and services to the restored secrets and starts everything again.
    """
    repo = repository(settings, password_file)
    snapshot = repo.find(wanted)
    WORK_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="restore-", dir=WORK_ROOT))
    stopped = False
    try:
        say(f"fetching snapshot {snapshot.short_id} of {snapshot.time[:19]} ({snapshot.hostname})")
        repo.restore(snapshot, staging)
        dumps = sorted(_restored(staging, DUMPS_DIR).glob("*" + databases.DUMP_SUFFIX))
        if not dumps:
            raise FacteurError(f"snapshot {snapshot.short_id} holds no database dump; nothing was changed")
        for dump in dumps:
            databases.check_dump(dump)

        stopped = True
        for service in MAIL_SERVICES:
            _service(service, "stop")
        _restore_etc(_restored(staging, ETC_ROOT), say)
        for dump in dumps:
            say(f"loading database {dump.stem}")
            databases.load(dump)
        report = maildirs.merge(_restored(staging, MAIL_ROOT), MAIL_ROOT)
        say(f"mail: {report.restored} message(s) restored, {report.already_present} already present, "
            f"{report.other_files} other file(s) (Sieve scripts, folder lists)")
        if report.kept_newer:
            say(f"mail: kept {report.kept_newer} message(s) that arrived after the snapshot")
    except BaseException:
        if stopped:
            say("restore stopped half-way: fix the cause and run the restore again "
                "(Postfix and Dovecot stay stopped until then; senders retry)")
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # Dovecot first: Postfix's smtpd needs its auth socket at start-up, and one that starts without
    # it exits, after which Postfix's master holds the service back for a minute (clients time out).
    _service("dovecot", "start")
    if reinstall is not None:
        say("converging the services to the restored accounts and secrets (facteur install)")
        reinstall()
    say(f"restored snapshot {snapshot.short_id}")
    return report


def _restore_etc(restored_etc: Path, say: Say) -> None:
    """Put back everything of /etc/facteur from the snapshot except the configuration file itself
    (the administrator's current one stays; a differing one from the snapshot is set beside it)."""
    if not restored_etc.is_dir():
        raise FacteurError("the snapshot holds no /etc/facteur")
    for source in sorted(restored_etc.rglob("*")):
        relative = source.relative_to(restored_etc)
        target = ETC_ROOT / relative
        if source.is_dir():
            target.mkdir(mode=source.stat().st_mode & 0o7777, exist_ok=True)
            continue
        if relative == Path(CONFIG_NAME):
            if target.exists() and not filecmp.cmp(source, target, shallow=False):
                kept = ETC_ROOT / (CONFIG_NAME + ".from-snapshot")
                shutil.copy2(source, kept)
                say(f"note: the snapshot's configuration differs from {target}; it is saved as {kept}")
            elif not target.exists():
                shutil.copy2(source, target)
            continue
        shutil.copy2(source, target)


def verify(settings: Settings, say: Say = print) -> bool:
    """Check the repository, restore the latest snapshot into a scratch directory and compare it
    with the live data; return True if nothing is damaged."""
    repo = repository(settings)
    say("checking the repository structure (restic check)")
    repo.check()
    snapshot: Snapshot = repo.find(None)
    WORK_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="verify-", dir=WORK_ROOT))
    healthy = True
    try:
        repo.restore(snapshot, scratch)
        dumps = sorted(_restored(scratch, DUMPS_DIR).glob("*" + databases.DUMP_SUFFIX))
        for dump in dumps:
            try:
                databases.check_dump(dump)
            except FacteurError as exc:
                say(f"error: {exc}")
                healthy = False
        say(f"snapshot {snapshot.short_id} of {snapshot.time[:19]}: {len(dumps)} complete database dump(s)"
            if healthy else f"snapshot {snapshot.short_id}: damaged database dump(s)")
        if not dumps:
            say("error: the snapshot holds no database dump")
            healthy = False
        mail = maildirs.compare(_restored(scratch, MAIL_ROOT), MAIL_ROOT)
        say(f"mail: {mail.identical} message(s) identical to the live store, {mail.newer} newer live, "
            f"{mail.missing} no longer live (deleted since the snapshot)")
        if mail.different:
            healthy = False
            say(f"error: {len(mail.different)} message(s) differ from the live store, "
                f"e.g. {mail.different[0]}")
        secrets_changed = _differing_files(_restored(scratch, ETC_ROOT / "secrets"), ETC_ROOT / "secrets")
        if secrets_changed:
            say(f"note: secrets changed since the snapshot: {', '.join(secrets_changed)}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    say("verify: ok" if healthy else "verify: FAILED")
    return healthy


def _differing_files(snapshot_dir: Path, live_dir: Path) -> list[str]:
    names = []
    for source in sorted(p for p in snapshot_dir.rglob("*") if p.is_file()):
        target = live_dir / source.relative_to(snapshot_dir)
        if not target.is_file() or not filecmp.cmp(source, target, shallow=False):
            names.append(str(source.relative_to(snapshot_dir)))
    return names


def install_again() -> None:
    """Run `facteur install` in this process (after a restore: restored secrets, same config)."""
    from facteur.cli import install  # late import: the CLI module imports the runner and Ansible's env

    install.run(argparse.Namespace(config=None, check=False, diff=False, inventory=None, tags=None))
