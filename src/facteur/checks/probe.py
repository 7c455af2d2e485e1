"""`facteur check`: a live self-test of the whole mail path.

1. create a temporary mailbox facteur-probe-<random>@<first domain> with a random password;
2. submit a probe message (unique Message-ID) on 127.0.0.1:587 after STARTTLS, authenticated;
3. read it back over IMAPS on 127.0.0.1:993 within a bounded wait;
4. always (finally) remove the probe mailbox and its directory /var/vmail/DOMAIN/LOCAL.

TLS is verified for the configured hostname (the certificate's name), whatever address is dialled,
against the system store plus facteur's local CA (/etc/facteur/tls/ca.crt) when it exists.
"""

from __future__ import annotations

import email.utils
import imaplib
import secrets as _random
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from facteur.admin import db, mailboxes, passwords
from facteur.checks import ERROR, OK, CheckResult
from facteur.errors import FacteurError

PROBE_PREFIX = "facteur-probe-"
LOCAL_CA = Path("/etc/facteur/tls/ca.crt")


@dataclass
class ProbeOptions:
    """Where and how long the probe runs."""

    host: str = "127.0.0.1"
    submission_port: int = 587
    imaps_port: int = 993
    wait_seconds: float = 30.0
    poll_seconds: float = 0.5
    network_timeout: float = 30.0
    ca_file: Path = LOCAL_CA
    vmail_root: Path = field(default_factory=lambda: mailboxes.VMAIL_ROOT)
    # Probe mailboxes older than this are leftovers of an interrupted run: removed first.
    stale_after_minutes: int = 60


class _NamedContext(ssl.SSLContext):
    """A client TLS context that checks the server certificate against `expected_name` (and sends it
    as SNI) whatever address the socket was connected to: smtplib and imaplib pass the host they
    dialled (127.0.0.1) to wrap_socket()."""

    expected_name = ""

    def wrap_socket(self, sock, *args, server_hostname=None, **kwargs):  # type: ignore[override]
        return super().wrap_socket(sock, *args, server_hostname=self.expected_name, **kwargs)


def tls_context(hostname: str, ca_file: Path = LOCAL_CA) -> ssl.SSLContext:
    """Return a verifying TLS 1.2+ client context for `hostname`: system CAs, plus `ca_file` if present."""
    context = _NamedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.expected_name = hostname
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_default_certs()
    if ca_file.exists():
        context.load_verify_locations(cafile=str(ca_file))
    return context


def probe_address(domain: str, token: str | None = None) -> str:
    """Return a new probe address in `domain`: facteur-probe-<12 hex digits>@domain."""
    return f"{PROBE_PREFIX}{token or _random.token_hex(6)}@{domain}"


def probe_message(address: str, hostname: str) -> EmailMessage:
    """Return the probe message from and to `address`, with a unique Message-ID at `hostname`."""
    message = EmailMessage()
    message["From"] = address
    message["To"] = address
    message["Subject"] = "facteur self-test"
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = f"<{PROBE_PREFIX}{_random.token_hex(8)}.{int(time.time())}@{hostname}>"
    message.set_content("This message was sent by `facteur check` to itself; it is deleted at once.\n")
    return message


def _explain(exc: BaseException, what: str) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{what}: certificate not trusted ({exc.verify_message or exc.reason})"
    if isinstance(exc, ConnectionRefusedError):
        return f"{what}: connection refused"
    if isinstance(exc, TimeoutError | ssl.SSLError | OSError):
        return f"{what}: {exc.__class__.__name__}: {exc}"
    return f"{what}: {exc}"


def _remove_probe(cur: Any, address: str, root: Path) -> None:
    mailboxes.remove_mailbox(cur, address)
    mailboxes.delete_maildir(address, root)


def remove_stale_probes(options: ProbeOptions, connection: Any = None) -> int:
    """Remove probe mailboxes left by interrupted runs (older than options.stale_after_minutes)."""
    with db.transaction(connection) as cur:
        cur.execute(
            "SELECT username FROM mailbox WHERE username LIKE %s AND created < NOW() - INTERVAL %s MINUTE",
            (PROBE_PREFIX + "%", options.stale_after_minutes),
        )
        stale = [row["username"] for row in cur.fetchall()]
        for address in stale:
            _remove_probe(cur, address, options.vmail_root)
    return len(stale)


def submit(
    address: str, password: str, message: EmailMessage, context: ssl.SSLContext, options: ProbeOptions
) -> str:
    """Send `message` on the submission port after STARTTLS and AUTH; return the TLS version used."""
    with smtplib.SMTP(options.host, options.submission_port, timeout=options.network_timeout) as smtp:
        smtp.ehlo()
        smtp.starttls(context=context)
        smtp.ehlo()
        version = smtp.sock.version() if hasattr(smtp.sock, "version") else "TLS"
        smtp.login(address, password)
        refused = smtp.send_message(message)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
    return version or "TLS"


def wait_for_message(
    address: str,
    password: str,
    message_id: str,
    context: ssl.SSLContext,
    options: ProbeOptions,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Log in over IMAPS and poll INBOX until `message_id` appears; return the seconds waited.
    Raise TimeoutError after options.wait_seconds."""
    start = clock()
    imap = imaplib.IMAP4_SSL(
        options.host, options.imaps_port, ssl_context=context, timeout=options.network_timeout
    )
    try:
        imap.login(address, password)
        while True:
            imap.select("INBOX", readonly=True)
            status, data = imap.search(None, "HEADER", "Message-ID", f'"{message_id}"')
            if status == "OK" and data and data[0].split():
                return clock() - start
            if clock() - start >= options.wait_seconds:
                raise TimeoutError(f"not delivered within {options.wait_seconds:.0f} s")
            time.sleep(options.poll_seconds)
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def run_probe(
    settings: Any,
    *,
    options: ProbeOptions | None = None,
    connection: Any = None,
    report: Callable[[CheckResult], None] = lambda result: None,
) -> list[CheckResult]:
    """Run the self-test for `settings` (hostname, first domain); return the step results, each also
    passed to `report` as soon as it is known. The probe mailbox is removed in every case."""
    options = options or ProbeOptions()
    results: list[CheckResult] = []

    def step(result: CheckResult) -> None:
        results.append(result)
        report(result)

    domain = settings.domains[0]
    address = probe_address(domain)
    password = _random.token_urlsafe(24)
    created = False
    try:
        try:
            remove_stale_probes(options, connection)
            with db.transaction(connection) as cur:
                mailboxes.add_mailbox(
                    cur, address, passwords.hash_password(password), name="facteur self-test", quota_bytes=0
                )
            created = True
            step(CheckResult("mailbox", OK, f"probe {address} created"))
        except FacteurError as exc:
            step(CheckResult("mailbox", ERROR, f"cannot create the probe mailbox: {exc}", "facteur status"))
            return results

        context = tls_context(settings.hostname, options.ca_file)
        message = probe_message(address, settings.hostname)
        where = f"{options.host}:{options.submission_port}"
        try:
            version = submit(address, password, message, context, options)
            step(CheckResult("submit", OK, f"accepted on {where} (STARTTLS {version}, authenticated)"))
        except (smtplib.SMTPException, OSError) as exc:
            step(
                CheckResult(
                    "submit",
                    ERROR,
                    _explain(exc, f"submission on {where}"),
                    "facteur status; then the mail log",
                )
            )
            return results

        where = f"{options.host}:{options.imaps_port}"
        try:
            waited = wait_for_message(address, password, message["Message-ID"], context, options)
            step(CheckResult("imap", OK, f"probe read back over IMAPS {where} after {waited:.1f} s"))
        except TimeoutError as exc:
            step(
                CheckResult(
                    "imap",
                    ERROR,
                    f"probe not found in INBOX: {exc}",
                    "see postqueue -p and the mail log (delivery goes through LMTP to Dovecot)",
                )
            )
        except (imaplib.IMAP4.error, OSError) as exc:
            step(
                CheckResult(
                    "imap", ERROR, _explain(exc, f"IMAPS on {where}"), "facteur status; then the mail log"
                )
            )
        return results
    finally:
        if created:
            try:
                with db.transaction(connection) as cur:
                    _remove_probe(cur, address, options.vmail_root)
                step(CheckResult("cleanup", OK, "probe mailbox and its mail removed"))
            except (FacteurError, OSError) as exc:
                step(
                    CheckResult(
                        "cleanup",
                        ERROR,
                        f"cannot remove the probe mailbox: {exc}",
                        f"facteur mailbox remove {address} --delete-mail",
                    )
                )
