"""The simulated internet's other mail server: an SMTP sink in a peer namespace (198.18.N.25).

It accepts every message for any recipient and keeps each one as a file, so a test can check what
our Postfix sent out (its DKIM signature, say) as a receiving server would see it. Given a
certificate and key it offers STARTTLS, and records for each message whether it came over TLS and
which name the client asked for (SNI). `python -m tests.harness.outsidemta ADDRESS DIR [CERT KEY]`
is the server itself; `OutsideMTA` runs it.
"""

from __future__ import annotations

import json
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import log, netns, procs
from .container import Container
from .waits import wait_until

HOST = 25  # 198.18.N.25
MAX_MESSAGE = 80 * 1024 * 1024


class OutsideMTA:
    """The sink in its namespace on `container`'s link; `messages()` returns what it received.

    `tls`: (certificate chain, key) files to offer STARTTLS with; None: plain SMTP only.
    """

    def __init__(self, container: Container, tls: tuple[Path, Path] | None = None) -> None:
        self.container = container
        self.netns, self.ip = netns.add_client(container.netns, container.slot, HOST)
        self.dir = Path(tempfile.mkdtemp(prefix="facteur-mx-"))
        out = open(self.dir / "server.log", "ab")
        repo = Path(__file__).resolve().parents[2]
        self._proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, sys.executable, "-m", "tests.harness.outsidemta",
             self.ip, str(self.dir), *([str(tls[0]), str(tls[1])] if tls else [])],
            cwd=repo, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        wait_until(self._answers, timeout=20, what=f"the outside SMTP sink at {self.ip}")
        log.info(f"outside MTA: SMTP sink at {self.ip}:25")

    def _answers(self) -> bool:
        if self._proc.poll() is not None:
            raise AssertionError(f"SMTP sink exited: {(self.dir / 'server.log').read_text()[-500:]}")
        try:
            with socket.create_connection((self.ip, 25), timeout=1) as conn:
                return conn.recv(4).startswith(b"220")
        except OSError:
            return False

    def messages(self) -> list[bytes]:
        return [path.read_bytes() for path in sorted(self.dir.glob("*.eml"))]

    def deliveries(self) -> list[dict]:
        """Return each received message as {"data": bytes, "tls": protocol or None, "sni": name or
        None, "recipients": [RCPT lines]}."""
        found = []
        for path in sorted(self.dir.glob("*.eml")):
            meta = json.loads(path.with_suffix(".json").read_text())
            found.append({"data": path.read_bytes(), **meta})
        return found

    def close(self) -> None:
        procs.end(self._proc)
        netns.remove_client(self.container.netns, self.container.slot, HOST)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the server (runs inside the namespace) --------------------------------------------------------

class _Session(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for an MTA delivering to us: EHLO/HELO, STARTTLS (RFC 3207) when
    the server has a certificate, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Without a certificate it offers
    no STARTTLS, so Postfix delivers in clear (opportunistic TLS)."""

    timeout = 120
    out_dir: Path
    tls_context: ssl.SSLContext | None = None

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self.tls: str | None = None
        self.sni: str | None = None
        try:
            self._converse()
        except (OSError, ssl.SSLError):
            return  # the client gave up (a failed certificate check ends the TLS session abruptly)

    def _converse(self) -> None:
        self.reply("220 mx.outside.test ESMTP test sink")
        recipients: list[str] = []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.reply("250-mx.outside.test")
                if self.tls_context is not None and self.tls is None:
                    self.reply("250-STARTTLS")
                self.reply(f"250-SIZE {MAX_MESSAGE}")
                self.reply("250 8BITMIME")
            elif verb == b"HELO":
                self.reply("250 mx.outside.test")
            elif line[:8].upper() == b"STARTTLS" and self.tls_context is not None and self.tls is None:
                self.reply("220 2.0.0 go ahead")
                self._start_tls()
                recipients = []
            elif verb == b"MAIL":
                recipients = []
                self.reply("250 2.1.0 ok")
            elif verb == b"RCPT":
                recipients.append(line.decode(errors="replace").strip())
                self.reply("250 2.1.5 ok")
            elif verb == b"DATA":
                if not recipients:
                    self.reply("503 5.5.1 no recipients")
                    continue
                self.reply("354 end with .")
                self._receive(recipients)
                self.reply("250 2.0.0 queued")
                recipients = []
            elif verb in (b"RSET", b"NOOP"):
                self.reply("250 ok")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")

    def _start_tls(self) -> None:
        self.request = self.tls_context.wrap_socket(self.request, server_side=True)
        self.rfile = self.request.makefile("rb")
        self.wfile = self.request.makefile("wb")
        self.tls = self.request.version()
        self.sni = getattr(self.request, "requested_name", None)

    def _receive(self, recipients: list[str]) -> None:
        lines = []
        while True:
            line = self.rfile.readline(MAX_MESSAGE)
            if line in (b".\r\n", b".\n", b""):
                break
            lines.append(line[1:] if line.startswith(b"..") else line)  # dot-unstuffing
        name = f"{time.time_ns()}-{threading.get_ident()}"  # sessions may run side by side
        temporary = self.out_dir / f"{name}.part"
        (self.out_dir / f"{name}.json").write_text(
            json.dumps({"tls": self.tls, "sni": self.sni, "recipients": recipients}))
        temporary.write_bytes(b"".join(lines))
        temporary.rename(self.out_dir / f"{name}.eml")


def _remember_name(tls_socket, name, _context) -> None:
    """Keep the name the client asked for (SNI) on its socket; the certificate stays the same."""
    tls_socket.requested_name = name


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(address: str, out_dir: str, cert: str | None = None, key: str | None = None) -> None:
    _Session.out_dir = Path(out_dir)
    if cert and key:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = _remember_name
        _Session.tls_context = context
    with _Server((address, 25), _Session) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:5])
