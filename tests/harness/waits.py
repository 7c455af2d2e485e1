"""Bounded wait-until-ready helpers: every loop has a deadline and says what it waited for."""

from __future__ import annotations

import email
import email.policy
import imaplib
import socket
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import TypeVar

T = TypeVar("T")


def wait_until(probe: Callable[[], T], timeout: float = 30.0, interval: float = 0.5,
               what: str = "condition") -> T:
    """Call `probe` until it returns a true value and return that value.

    Exceptions from `probe` count as "not yet". Raises TimeoutError (with the last exception,
    if any) after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - "not ready yet"
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"{what} not reached after {timeout:.0f}s{detail}")
        time.sleep(interval)


def wait_for_port(ip: str, port: int, timeout: float = 30.0) -> None:
    """Return once a TCP connection to ip:port succeeds; TimeoutError after `timeout` seconds."""

    def probe() -> bool:
        with socket.create_connection((ip, port), timeout=2):
            return True

    wait_until(probe, timeout, 0.3, f"TCP port {ip}:{port} accepting connections")


def wait_for_message(imap_login: Callable[[], imaplib.IMAP4],
                     predicate: Callable[[EmailMessage], bool],
                     timeout: float = 60.0, mailbox: str = "INBOX") -> EmailMessage:
    """Poll a mailbox until a message satisfies `predicate`; return that message.

    `imap_login` returns a logged-in IMAP client (called afresh on each attempt, so a server
    restart in between does not matter). Raises TimeoutError after `timeout` seconds.
    """

    def probe() -> EmailMessage | None:
        imap = imap_login()
        try:
            typ, _ = imap.select(mailbox, readonly=True)
            if typ != "OK":
                return None
            typ, data = imap.search(None, "ALL")
            for num in reversed(data[0].split()):
                typ, parts = imap.fetch(num, "(BODY.PEEK[])")
                raw = next(p[1] for p in parts if isinstance(p, tuple))
                message = email.message_from_bytes(raw, policy=email.policy.default)
                if predicate(message):
                    return message
            return None
        finally:
            try:
                imap.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

    return wait_until(probe, timeout, 1.0, f"a matching message in {mailbox}")
