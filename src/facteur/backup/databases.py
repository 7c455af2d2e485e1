"""Consistent dumps of facteur's MariaDB databases, and loading them back.

Every database except MariaDB's own is facteur's (PostfixAdmin's, Roundcube's, later SOGo's), so a
component added later is backed up without changing this file. Dumps use a single transaction
(a consistent view while mail keeps flowing) and run as root over the local socket.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from facteur.errors import FacteurError, last_line

SYSTEM_DATABASES = frozenset({"information_schema", "mysql", "performance_schema", "sys"})
DUMP_SUFFIX = ".sql"
# The last line mariadb-dump writes: a dump without it was cut short.
COMPLETE_MARK = "-- Dump completed"


def _client(name: str) -> str:
    """Return Debian's MariaDB client program `name` (mariadb-dump, mariadb), or its MySQL-era alias."""
    legacy = {"mariadb": "mysql", "mariadb-dump": "mysqldump"}[name]
    return shutil.which(name) or shutil.which(legacy) or name


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    except FileNotFoundError:
        raise FacteurError(f"{argv[0]} is not installed (run `facteur install`)") from None
    if cp.returncode != 0:
        raise FacteurError(f"{Path(argv[0]).name} failed: {last_line(cp.stderr or cp.stdout)}")
    return cp


def list_databases() -> list[str]:
    """Return the names of facteur's databases (every non-system database), sorted."""
    cp = _run([_client("mariadb"), "--batch", "--skip-column-names", "-e", "SHOW DATABASES"])
    return sorted(name for name in cp.stdout.split() if name not in SYSTEM_DATABASES)


def dump_all(directory: Path) -> list[Path]:
    """Dump every facteur database into `directory` (emptied first, mode 0700); return the files."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(mode=0o700, parents=True)
    files = []
    for name in list_databases():
        target = directory / f"{name}{DUMP_SUFFIX}"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            argv = [_client("mariadb-dump"), "--single-transaction", "--routines", "--triggers",
                    "--events", "--hex-blob", "--default-character-set=utf8mb4", name]
            try:
                cp = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, text=True, check=False)
            except FileNotFoundError:
                raise FacteurError(f"{argv[0]} is not installed (run `facteur install`)") from None
        if cp.returncode != 0:
            raise FacteurError(f"dumping database {name} failed: {last_line(cp.stderr)}")
        files.append(target)
    return files


def check_dump(path: Path) -> None:
    """Raise FacteurError unless `path` is a complete dump (its last line is mariadb-dump's mark)."""
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - 4096))
        tail = handle.read().decode("utf-8", "replace")
    if COMPLETE_MARK not in tail:
        raise FacteurError(f"database dump {path.name} in the snapshot is incomplete")


def load(path: Path) -> None:
    """Replace the database named after `path` with the dump's content."""
    name = path.name.removesuffix(DUMP_SUFFIX)
    if not name.replace("_", "").isalnum():
        raise FacteurError(f"unexpected database dump name {path.name}")
    mariadb = _client("mariadb")
    _run([mariadb, "-e", f"DROP DATABASE IF EXISTS `{name}`; "
                         f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"])
    with open(path) as dump:
        _run([mariadb, name], stdin=dump)
