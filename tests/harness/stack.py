"""The object integration tests receive: one installed facteur machine and ways to talk to it."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

from . import clients, layout, waits
from .container import Container


class Stack:
    """An installed container seen from the tests.

    Attributes: release, ip (198.18.N.2), hostname (the config's, default mail.example.test),
    ca_file (host copy of /etc/facteur/tls/ca.crt), stranger_ip (198.18.N.3), container.
    """

    def __init__(self, container: Container):
        self.container = container
        self.release = container.release
        self.init = container.init
        self.ip = container.ip
        self.host_ip = container.host_ip
        self.stranger_ip = container.slot.stranger_ip
        self.hostname = self._configured_hostname()
        self._tmp = Path(tempfile.mkdtemp(prefix=f"facteur-tests-{container.label}-"))
        self.ca_file = str(self._tmp / "ca.crt")
        try:
            Path(self.ca_file).write_text(container.read_file("/etc/facteur/tls/ca.crt"))
        except FileNotFoundError:
            self.close()
            raise AssertionError(
                f"{container.name}: /etc/facteur/tls/ca.crt missing after the install") from None
        self._admin_password: str | None = None

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _configured_hostname(self) -> str:
        try:
            text = self.container.read_file("/etc/facteur/facteur.yml")
        except (FileNotFoundError, OSError):
            return layout.CONTAINER_FQDN
        try:
            import yaml

            value = (yaml.safe_load(text) or {}).get("hostname")
        except Exception:  # noqa: BLE001 - an unreadable config leaves the default
            value = None
        return str(value) if value else layout.CONTAINER_FQDN

    # ------------------------------------------------------- inside the machine

    def exec(self, argv: list[str], input: str | None = None, timeout: float | None = 600,
             env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `argv` inside the machine (see Container.exec); ExecError if check and it fails."""
        return self.container.exec(argv, input=input, timeout=timeout, env=env, check=check)

    def facteur(self, *args: str, input: str | None = None, timeout: float | None = 600
                ) -> subprocess.CompletedProcess[str]:
        """Run `/usr/local/sbin/facteur ARGS` inside; never raises on a non-zero exit."""
        return self.container.exec(["/usr/local/sbin/facteur", *args], input=input, timeout=timeout,
                                   check=False)

    def read_file(self, path: str) -> str:
        return self.container.read_file(path)

    @property
    def admin_password(self) -> str:
        """The generated admin password (/etc/facteur/secrets/admin-password)."""
        if self._admin_password is None:
            self._admin_password = self.read_file("/etc/facteur/secrets/admin-password").strip()
        return self._admin_password

    # ------------------------------------------------------------- from outside

    def ssl_context(self, check_hostname: bool = False) -> ssl.SSLContext:
        """A client context that trusts only the machine's CA (the chain is always verified).

        Tests connect by IP address, so the name is not checked unless `check_hostname` (then
        pass server_hostname=stack.hostname, or use smtp()/smtp_ssl()/imap(), which do).
        """
        context = ssl.create_default_context(cafile=self.ca_file)
        context.check_hostname = check_hostname
        return context

    def smtp(self, port: int = 587, **kwargs) -> clients.SMTP:
        """smtplib client to the machine (not yet TLS); starttls() then checks the certificate and name."""
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("local_hostname", "client.test")
        kwargs.setdefault("tls_context", self.ssl_context(check_hostname=True))
        return clients.SMTP(self.hostname, port, ip=self.ip, **kwargs)

    def smtp_ssl(self, port: int = 465, **kwargs) -> clients.SMTP_SSL:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("local_hostname", "client.test")
        kwargs.setdefault("context", self.ssl_context(check_hostname=True))
        return clients.SMTP_SSL(self.hostname, port, ip=self.ip, **kwargs)

    def imap(self, user: str | None = None, password: str | None = None, port: int = 993
             ) -> clients.IMAP4_SSL:
        """IMAPS client (certificate verified), logged in if `user` is given."""
        imap = clients.IMAP4_SSL(self.hostname, port, ip=self.ip,
                                 ssl_context=self.ssl_context(check_hostname=True))
        if user is not None:
            imap.login(user, password or "")
        return imap

    def wait_for_port(self, port: int, timeout: float = 30.0) -> None:
        waits.wait_for_port(self.ip, port, timeout)

    def wait_for_message(self, user: str, password: str, predicate, timeout: float = 60.0,
                         mailbox: str = "INBOX"):
        """Wait until `user`'s mailbox holds a message for which predicate(message) is true."""
        return waits.wait_for_message(lambda: self.imap(user, password), predicate, timeout, mailbox)

    # --------------------------------------------------------------- stranger

    def stranger(self, argv: list[str], input: str | None = None, timeout: float = 120,
                 check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run a host command from the stranger namespace (198.18.N.3: neither host nor machine).

        The command sees the host's files (so host Python and the CA copy work) but only the
        test link's network. Never raises on a non-zero exit unless `check`.
        """
        netns = self.container.stranger_netns()
        return subprocess.run(["ip", "netns", "exec", netns, *argv], input=input, capture_output=True,
                              text=True, timeout=timeout, check=check,
                              stdin=None if input is not None else subprocess.DEVNULL)

    stranger_exec = stranger

    def stranger_python(self, code: str, *args: str, input: str | None = None, timeout: float = 120
                        ) -> subprocess.CompletedProcess[str]:
        """Run a Python snippet (`python -c code args...`) from the stranger namespace."""
        return self.stranger([sys.executable, "-c", code, *args], input=input, timeout=timeout)
