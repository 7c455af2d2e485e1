"""The restic repository that holds facteur's snapshots.

Every call runs the restic command with the repository and the password file in its environment
(never on the command line, where `ps` would show them). Errors become one-line FacteurErrors.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from facteur.errors import FacteurError, last_line

# Every snapshot facteur makes carries this tag; `list` and `--latest` only look at these.
TAG = "facteur"


@dataclass(frozen=True)
class Snapshot:
    id: str
    short_id: str
    time: str
    hostname: str
    paths: tuple[str, ...]


class Repository:
    """A restic repository: `location` is a local path or a restic URL (sftp:, s3:, rest:)."""

    def __init__(self, location: str, password_file: Path, environment_file: Path | None = None,
                 restic: str = "restic") -> None:
        self.location = location
        self.password_file = Path(password_file)
        self.environment_file = environment_file
        self.restic = restic

    @property
    def is_local(self) -> bool:
        return ":" not in self.location.split("/", 1)[0] or self.location.startswith("local:")

    def _env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("RESTIC_")}
        env.update(_read_environment_file(self.environment_file))
        env["RESTIC_REPOSITORY"] = self.location
        env["RESTIC_PASSWORD_FILE"] = str(self.password_file)
        env.setdefault("RESTIC_CACHE_DIR", "/var/cache/facteur/restic")
        return env

    def run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """Run `restic ARGS` against this repository; raise FacteurError (with restic's last error
        line) if it fails."""
        if not self.password_file.is_file():
            raise FacteurError(f"backup repository password file {self.password_file} is missing")
        try:
            cp = subprocess.run([self.restic, *args], env=self._env(), capture_output=True, text=True,
                                timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise FacteurError("restic is not installed (run `facteur install`)") from None
        except subprocess.TimeoutExpired:
            raise FacteurError(f"restic {args[0]} did not finish within {timeout:.0f}s") from None
        if cp.returncode != 0:
            raise FacteurError(f"restic {args[0]} failed: {last_line(cp.stderr or cp.stdout)}")
        return cp

    def exists(self) -> bool:
        """Return True if the repository is initialised and the password opens it."""
        try:
            self.run("cat", "config")
        except FacteurError as exc:
            if "wrong password" in str(exc).lower():
                raise FacteurError(f"the password in {self.password_file} does not open the backup "
                                   f"repository {self.location}") from None
            return False
        return True

    def init(self) -> None:
        """Create the repository (a local one gets its directory, mode 0700, first)."""
        if self.is_local:
            path = Path(self.location.removeprefix("local:"))
            path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(path.parent, 0o700)
        self.run("init")

    def backup(self, paths: list[str], hostname: str) -> str:
        """Snapshot `paths` (tagged, under `hostname` so a new machine finds them); return its id."""
        cp = self.run("backup", "--json", "--tag", TAG, "--host", hostname, *paths)
        for line in reversed(cp.stdout.splitlines()):
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("message_type") == "summary":
                return message["snapshot_id"]
        raise FacteurError("restic backup printed no summary; the snapshot may be incomplete")

    def forget(self, keep_daily: int, keep_weekly: int, keep_monthly: int) -> None:
        """Apply the retention policy to facteur's snapshots and free the space of forgotten ones."""
        self.run("forget", "--tag", TAG, "--group-by", "tags", "--prune",
                 "--keep-daily", str(keep_daily), "--keep-weekly", str(keep_weekly),
                 "--keep-monthly", str(keep_monthly))

    def snapshots(self) -> list[Snapshot]:
        """Return facteur's snapshots, oldest first."""
        cp = self.run("snapshots", "--json", "--tag", TAG)
        items = json.loads(cp.stdout or "[]") or []
        snaps = [Snapshot(id=item["id"], short_id=item.get("short_id", item["id"][:8]),
                          time=item["time"], hostname=item.get("hostname", ""),
                          paths=tuple(item.get("paths", ()))) for item in items]
        return sorted(snaps, key=lambda snap: snap.time)

    def find(self, wanted: str | None) -> Snapshot:
        """Return the snapshot whose id starts with `wanted`, or the latest when `wanted` is None."""
        snaps = self.snapshots()
        if not snaps:
            raise FacteurError(f"the backup repository {self.location} holds no facteur snapshot")
        if wanted is None:
            return snaps[-1]
        matches = [snap for snap in snaps if snap.id.startswith(wanted.lower())]
        if not matches:
            raise FacteurError(f"no snapshot {wanted!r} (see `facteur backup list`)")
        if len(matches) > 1:
            raise FacteurError(f"snapshot id {wanted!r} is ambiguous; give more characters")
        return matches[0]

    def restore(self, snapshot: Snapshot, target: Path) -> None:
        """Restore the whole snapshot under `target` (paths keep their absolute layout below it)."""
        self.run("restore", snapshot.id, "--target", str(target))

    def check(self) -> None:
        """Verify the repository's structure and that every pack file is readable (restic check)."""
        self.run("check")


def _read_environment_file(path: Path | None) -> dict[str, str]:
    """Return KEY=VALUE lines of `path` (credentials for S3/SFTP/REST repositories); {} if None."""
    if path is None:
        return {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise FacteurError(f"cannot read backup environment file {path}: {exc.strerror or exc}") from None
    env = {}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip().isidentifier():
            raise FacteurError(f"{path}:{number}: expected KEY=VALUE")
        env[key.strip()] = value.strip().strip("'\"")
    return env

