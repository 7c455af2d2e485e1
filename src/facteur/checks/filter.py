"""`facteur status` checks of mail filtering: rspamd and Redis running, ClamAV with signatures.

They apply only where the filter is installed (rspamd, clamd present): `filter.enabled: false`
or `filter.antivirus: false` leave those programs out, and their checks with them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from facteur.checks import ERROR, OK, WARNING, CheckResult

SIGNATURE_DIR = Path("/var/lib/clamav")
SIGNATURE_SUFFIXES = (".cvd", ".cld", ".cud", ".ndb", ".hdb", ".hsb", ".ldb", ".cdb", ".mdb", ".msb",
                      ".ndu", ".ldu", ".yar", ".yara")
# freshclam checks several times a day: signatures older than this mean it cannot update.
SIGNATURES_MAX_AGE_DAYS = 7
RSPAMD = Path("/usr/bin/rspamd")
CLAMD = Path("/usr/sbin/clamd")
NAME = "antivirus"


def signature_files(directory: Path = SIGNATURE_DIR) -> list[Path]:
    """Return the ClamAV signature files in `directory` (none if it does not exist)."""
    try:
        return sorted(p for p in directory.iterdir() if p.suffix in SIGNATURE_SUFFIXES and p.is_file())
    except FileNotFoundError:
        return []


def classify_signatures(files: Sequence[Path], clamd_running: bool, now: float | None = None,
                        systemd: bool = True) -> CheckResult:
    """Return the antivirus check's result from the signature files found and whether clamd runs."""
    start = "systemctl restart clamav-daemon" if systemd else "service clamav-daemon start"
    if not files:
        return CheckResult(
            NAME, WARNING,
            "ClamAV has no virus signatures: mail is not scanned (handled as filter.on_failure says)",
            "let freshclam download them (needs internet: see /var/log/clamav/freshclam.log), "
            f"or copy signature files into {SIGNATURE_DIR}, then {start}")
    if not clamd_running:
        return CheckResult(NAME, ERROR, "clamd is not running although signatures exist",
                           f"{start} (log: /var/log/clamav/clamav.log)")
    newest = max(p.stat().st_mtime for p in files)
    age_days = ((now if now is not None else time.time()) - newest) / 86400
    names = ", ".join(p.name for p in files[:4]) + (" ..." if len(files) > 4 else "")
    if age_days > SIGNATURES_MAX_AGE_DAYS:
        return CheckResult(NAME, WARNING, f"virus signatures are {age_days:.0f} days old ({names})",
                           "freshclam cannot update: see /var/log/clamav/freshclam.log")
    return CheckResult(NAME, OK, f"clamd running, signatures: {names}")


def filter_checks(check_service: Callable[[str], CheckResult], systemd: bool,
                  rspamd: Path = RSPAMD, clamd: Path = CLAMD,
                  signature_dir: Path = SIGNATURE_DIR) -> list[CheckResult]:
    """Return the filtering checks; `check_service(name)` is facteur.checks.system's service check."""
    results: list[CheckResult] = []
    if rspamd.exists():
        results.append(check_service("rspamd"))
        results.append(check_service("redis-server"))
    if clamd.exists():
        running = check_service("clamav-daemon").status == OK
        results.append(classify_signatures(signature_files(signature_dir), running, systemd=systemd))
    return results
