"""The checks behind `facteur status`: services, mail queue, disk, certificate, listening ports.

The thresholds are decided by pure functions (classify_*), unit-tested; the probes run commands
with argv lists (never a shell) through `run`, which tests may replace.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from facteur.checks import ERROR, OK, WARNING, CheckResult
from facteur.checks.acme import check_acme
from facteur.checks.backup import check_backup
from facteur.checks.filter import filter_checks

SERVICES = ("postfix", "dovecot", "mariadb")
# fail2ban is one more service where facteur's jails are installed (security.fail2ban: true).
FAIL2BAN_JAILS = Path("/etc/fail2ban/jail.d/facteur.conf")
# postfix-mta-sts-resolver is one more where Postfix asks it for TLS policies (network.outbound_mta_sts):
# while it is down, Postfix defers all outbound mail.
POSTFIX_MAIN_CF = Path("/etc/postfix/main.cf")
MTA_STS_RESOLVER = "postfix-mta-sts-resolver"
QUEUE_WARNING = 100
QUEUE_ERROR = 1000
DISK_WARNING = 85.0
DISK_ERROR = 95.0
CERT_WARNING_DAYS = 14
CERT_ERROR_DAYS = 3
CERT_FILE = Path("/etc/facteur/tls/server.crt")
DISK_PATHS = (Path("/"), Path("/var/vmail"))
# Port -> (protocol, service that listens on it).
PORTS: dict[int, tuple[str, str]] = {
    25: ("SMTP", "postfix"),
    465: ("SMTPS", "postfix"),
    587: ("submission", "postfix"),
    143: ("IMAP", "dovecot"),
    993: ("IMAPS", "dovecot"),
    110: ("POP3", "dovecot"),
    995: ("POP3S", "dovecot"),
    4190: ("ManageSieve", "dovecot"),
}

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess]


def run(argv: Sequence[str], timeout: float = 15) -> subprocess.CompletedProcess:
    """Run `argv` (a list, no shell) and return the completed process; a missing program gives rc 127."""
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        return subprocess.CompletedProcess(list(argv), 127, "", f"{argv[0]}: not found")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(list(argv), 124, "", f"{argv[0]}: timed out")


def has_systemd(root: Path = Path("/")) -> bool:
    """Return True if systemd is the init system (it creates /run/systemd/system at boot)."""
    return (root / "run/systemd/system").is_dir()


# --- pure decisions ------------------------------------------------------------------------------


def classify_queue(count: int) -> str:
    """Return the status of a mail queue holding `count` messages."""
    if count > QUEUE_ERROR:
        return ERROR
    if count > QUEUE_WARNING:
        return WARNING
    return OK


def classify_disk(percent_used: float) -> str:
    """Return the status of a file system `percent_used` full."""
    if percent_used >= DISK_ERROR:
        return ERROR
    if percent_used >= DISK_WARNING:
        return WARNING
    return OK


def classify_cert(days_left: float) -> str:
    """Return the status of a certificate that expires in `days_left` days (negative: expired)."""
    if days_left < CERT_ERROR_DAYS:
        return ERROR
    if days_left < CERT_WARNING_DAYS:
        return WARNING
    return OK


def parse_enddate(output: str) -> datetime:
    """Given `openssl x509 -enddate -noout` output (`notAfter=Dec 30 12:26:27 2027 GMT`), return it (UTC).

    Raise ValueError if it cannot be parsed.
    """
    text = output.strip()
    if not text.startswith("notAfter="):
        raise ValueError(f"unexpected openssl output: {text[:80]!r}")
    value = " ".join(text[len("notAfter=") :].split())
    return datetime.strptime(value, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)


def count_queue(output: str) -> int:
    """Given `postqueue -j` output (one JSON object per message and line), return the message count."""
    return sum(1 for line in output.splitlines() if line.strip().startswith("{"))


# --- probes --------------------------------------------------------------------------------------


def _start_hint(service: str, systemd: bool) -> str:
    return f"systemctl restart {service}" if systemd else f"service {service} start"


def check_service(service: str, runner: Runner = run, systemd: bool | None = None) -> CheckResult:
    """Return whether `service` is running, asked of systemd if it is PID 1, else of its init script."""
    systemd = has_systemd() if systemd is None else systemd
    if systemd:
        proc = runner(["systemctl", "is-active", "--quiet", service])
    else:
        proc = runner(["service", service, "status"])
    hint = _start_hint(service, systemd)
    if proc.returncode == 127:
        return CheckResult(service, ERROR, "not installed", "sudo facteur install")
    if proc.returncode != 0:
        detail = f" (logs: journalctl -u {service})" if systemd else ""
        return CheckResult(service, ERROR, "not running", hint + detail)
    if service == "postfix":
        # Debian's postfix.service stays "active" after the master process died: ask Postfix itself.
        status = runner(["postfix", "status"])
        if status.returncode not in (0, 127):
            return CheckResult(service, ERROR, "master process not running", hint)
    return CheckResult(service, OK, "running")


def check_queue(runner: Runner = run) -> CheckResult:
    """Return the size of Postfix's mail queue (`postqueue -j`): warning over 100, error over 1000."""
    proc = runner(["postqueue", "-j"])
    if proc.returncode != 0:
        return CheckResult(
            "mail queue", WARNING, "cannot read the queue (postqueue -j failed)", "check that postfix runs"
        )
    count = count_queue(proc.stdout)
    status = classify_queue(count)
    hint = "see why: postqueue -p and /var/log/mail.log (or journalctl -u postfix); retry: postqueue -f"
    return CheckResult("mail queue", status, f"{count} message(s) waiting", hint if status != OK else "")


def check_disk(path: Path) -> CheckResult:
    """Return how full the file system holding `path` is: warning from 85 %, error from 95 %."""
    name = f"disk {path}"
    if not path.exists():
        return CheckResult(name, WARNING, "does not exist", "sudo facteur install")
    stat = os.statvfs(path)
    used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    available = stat.f_bavail * stat.f_frsize
    total = used + available
    percent = 100.0 * used / total if total else 0.0
    status = classify_disk(percent)
    summary = f"{percent:.0f}% used, {available / 1024**3:.1f} GiB free"
    hint = f"free space on the file system of {path} (old mail, logs: du -xsh {path}/*) or enlarge it"
    return CheckResult(name, status, summary, hint if status != OK else "")


def check_certificate(
    path: Path = CERT_FILE, runner: Runner = run, now: datetime | None = None
) -> CheckResult:
    """Return how long the TLS certificate `path` stays valid: warning under 14 days, error under 3."""
    name = "certificate"
    if not path.exists():
        return CheckResult(name, ERROR, f"{path} is missing", "sudo facteur install")
    proc = runner(["openssl", "x509", "-enddate", "-noout", "-in", str(path)])
    try:
        end = parse_enddate(proc.stdout)
    except ValueError:
        return CheckResult(name, ERROR, f"cannot read {path}", f"openssl x509 -noout -text -in {path}")
    now = now or datetime.now(UTC)
    days = (end - now).total_seconds() / 86400
    status = classify_cert(days)
    if days < 0:
        summary = f"expired on {end:%Y-%m-%d}"
    else:
        summary = f"valid until {end:%Y-%m-%d} ({int(days)} days left)"
    hint = ("renew it: sudo facteur install (self-signed), sudo facteur certificate renew (acme), or "
            "install the new files given in tls.cert_file")
    return CheckResult(name, status, summary, hint if status != OK else "")


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> bool:
    """Return True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_ports(probe: Callable[[int], bool] = port_open, systemd: bool | None = None) -> CheckResult:
    """Return whether every mail port (25 465 587 143 993 110 995 4190) listens on 127.0.0.1."""
    closed = [port for port in PORTS if not probe(port)]
    if not closed:
        return CheckResult("ports", OK, f"all {len(PORTS)} listening ({' '.join(map(str, PORTS))})")
    systemd = has_systemd() if systemd is None else systemd
    services = sorted({PORTS[port][1] for port in closed})
    names = ", ".join(f"{port} ({PORTS[port][0]})" for port in closed)
    hint = " && ".join(_start_hint(s, systemd) for s in services)
    return CheckResult("ports", ERROR, f"not listening: {names}", hint)


def postfix_uses_mta_sts_resolver(main_cf: Path = POSTFIX_MAIN_CF) -> bool:
    """Return True if Postfix's main.cf asks postfix-mta-sts-resolver's socketmap for TLS policies."""
    try:
        text = main_cf.read_text(errors="replace")
    except OSError:
        return False
    return any(line.startswith("smtp_tls_policy_maps") and "socketmap:" in line
               for line in text.splitlines())


def services(fail2ban_jails: Path = FAIL2BAN_JAILS, main_cf: Path = POSTFIX_MAIN_CF) -> tuple[str, ...]:
    """Return the services `facteur status` checks: fail2ban too if facteur's jails are installed,
    postfix-mta-sts-resolver too if Postfix depends on it."""
    return (SERVICES + (("fail2ban",) if fail2ban_jails.exists() else ())
            + ((MTA_STS_RESOLVER,) if postfix_uses_mta_sts_resolver(main_cf) else ()))


def status_checks(runner: Runner = run) -> list[CheckResult]:
    """Run every `facteur status` check and return the results in display order."""
    systemd = has_systemd()
    results = [check_service(name, runner, systemd) for name in services()]
    if shutil.which("postqueue") or runner is not run:
        results.append(check_queue(runner))
    else:
        results.append(CheckResult("mail queue", ERROR, "postqueue not found", "sudo facteur install"))
    results.extend(check_disk(path) for path in DISK_PATHS)
    results.append(check_certificate(CERT_FILE, runner))
    acme = check_acme()
    if acme is not None:
        results.append(acme)
    results.append(check_ports(systemd=systemd))
    results.append(check_backup())
    results.extend(filter_checks(lambda name: check_service(name, runner, systemd), systemd))
    return results
