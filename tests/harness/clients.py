"""Mail clients that connect to a container's address but verify TLS against its hostname.

The test host cannot resolve mail.example.test (and must not change its own /etc/hosts), so
these classes take the name (for SNI and certificate checks) and the address separately:

    smtp = SMTP("mail.example.test", 587, ip="198.18.10.2"); smtp.starttls(context=ctx)
    imap = IMAP4_SSL("mail.example.test", 993, ip="198.18.10.2", ssl_context=ctx)
"""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket


class SMTP(smtplib.SMTP):
    """smtplib.SMTP to `ip`; STARTTLS checks the certificate against `host`.

    starttls() without a context uses `tls_context` (given at creation).
    """

    def __init__(self, host: str, port: int = 25, *, ip: str, tls_context=None, **kwargs):
        self._ip = ip
        self._tls_context = tls_context
        super().__init__(host, port, **kwargs)

    def starttls(self, *args, context=None, **kwargs):
        return super().starttls(*args, context=context or self._tls_context, **kwargs)

    def _get_socket(self, host, port, timeout):
        return socket.create_connection((self._ip, port), timeout, self.source_address)


class SMTP_SSL(smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL (implicit TLS, port 465) to `ip`, certificate checked against `host`."""

    def __init__(self, host: str, port: int = 465, *, ip: str, **kwargs):
        self._ip = ip
        super().__init__(host, port, **kwargs)

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((self._ip, port), timeout, self.source_address)
        return self.context.wrap_socket(sock, server_hostname=self._host)


class IMAP4(imaplib.IMAP4):
    """imaplib.IMAP4 (port 143) to `ip`; starttls() checks the certificate against `host`."""

    def __init__(self, host: str, port: int = 143, *, ip: str, timeout: float | None = 30):
        self._ip = ip
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self._ip, self.port), timeout)


class IMAP4_SSL(imaplib.IMAP4_SSL):
    """imaplib.IMAP4_SSL (port 993) to `ip`, certificate checked against `host`."""

    def __init__(self, host: str, port: int = 993, *, ip: str, ssl_context=None,
                 timeout: float | None = 30):
        self._ip = ip
        super().__init__(host, port, ssl_context=ssl_context, timeout=timeout)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self._ip, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class POP3_SSL(poplib.POP3_SSL):
    """poplib.POP3_SSL (port 995) to `ip`, certificate checked against `host`."""

    def __init__(self, host: str, port: int = 995, *, ip: str, context=None, timeout: float = 30):
        self._ip = ip
        super().__init__(host, port, context=context, timeout=timeout)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self._ip, self.port), timeout)
        return self.context.wrap_socket(sock, server_hostname=self.host)
