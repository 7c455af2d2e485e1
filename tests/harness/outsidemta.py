"""The simulated internet's other mail server: an SMTP sink in a peer namespace (198.18.N.25).

It accepts every message for any recipient, without TLS, and keeps each one as a file, so a test
can check what our Postfix sent out (its DKIM signature, say) as a receiving server would see it.
`python -m tests.harness.outsidemta ADDRESS DIR` is the server itself; `OutsideMTA` runs it.
"""

from __future__ import annotations

import shutil
import socket
import socketserver
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
    """The sink in its namespace on `container`'s link; `messages()` returns what it received."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.netns, self.ip = netns.add_client(container.netns, container.slot, HOST)
        self.dir = Path(tempfile.mkdtemp(prefix="facteur-mx-"))
        out = open(self.dir / "server.log", "ab")
        repo = Path(__file__).resolve().parents[2]
        self._proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, sys.executable, "-m", "tests.harness.outsidemta",
             self.ip, str(self.dir)],
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

    def close(self) -> None:
        procs.end(self._proc)
        netns.remove_client(self.container.netns, self.container.slot, HOST)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the server (runs inside the namespace) --------------------------------------------------------

class _Session(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for an MTA delivering to us: EHLO/HELO, MAIL, RCPT, DATA, RSET,
    NOOP, QUIT. No STARTTLS offered, so Postfix delivers in clear (opportunistic TLS)."""

    timeout = 120
    out_dir: Path

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self.reply("220 mx.outside.test ESMTP test sink")
        recipients: list[str] = []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.reply("250-mx.outside.test")
                self.reply(f"250-SIZE {MAX_MESSAGE}")
                self.reply("250 8BITMIME")
            elif verb == b"HELO":
                self.reply("250 mx.outside.test")
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
                self._receive()
                self.reply("250 2.0.0 queued")
                recipients = []
            elif verb in (b"RSET", b"NOOP"):
                self.reply("250 ok")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")

    def _receive(self) -> None:
        lines = []
        while True:
            line = self.rfile.readline(MAX_MESSAGE)
            if line in (b".\r\n", b".\n", b""):
                break
            lines.append(line[1:] if line.startswith(b"..") else line)  # dot-unstuffing
        name = f"{time.time_ns()}-{threading.get_ident()}"  # sessions may run side by side
        temporary = self.out_dir / f"{name}.part"
        temporary.write_bytes(b"".join(lines))
        temporary.rename(self.out_dir / f"{name}.eml")


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(address: str, out_dir: str) -> None:
    _Session.out_dir = Path(out_dir)
    with _Server((address, 25), _Session) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
