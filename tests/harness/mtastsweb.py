"""The outside domains' MTA-STS policy servers: HTTPS on port 443 in a namespace of the simulated
internet (the outside MX's is fine), answering `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`.

`PolicyWeb(netns, ip, policies, cert, key)` runs it; `python -m tests.harness.mtastsweb ADDRESS DIR
CERT KEY` is the server itself, serving DIR/DOMAIN.txt for the Host `mta-sts.DOMAIN`.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

from . import log, procs
from .waits import wait_until

PORT = 443
PATH = "/.well-known/mta-sts.txt"


def policy_text(mode: str, mx: list[str], max_age: int = 86400) -> str:
    """Return an RFC 8461 policy file (CRLF line ends) for `mode` and the MX name patterns `mx`."""
    lines = ["version: STSv1", f"mode: {mode}", *[f"mx: {name}" for name in mx], f"max_age: {max_age}"]
    return "".join(line + "\r\n" for line in lines)


class PolicyWeb:
    """HTTPS server of `policies` ({domain: policy text}) at `ip`:443 inside namespace `netns`."""

    def __init__(self, netns: str, ip: str, policies: dict[str, str], cert: Path, key: Path) -> None:
        self.ip = ip
        self.dir = Path(tempfile.mkdtemp(prefix="facteur-mta-sts-"))
        for domain, text in policies.items():
            (self.dir / f"{domain}.txt").write_text(text)
        out = open(self.dir / "server.log", "ab")
        repo = Path(__file__).resolve().parents[2]
        self._proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-m", "tests.harness.mtastsweb",
             ip, str(self.dir), str(cert), str(key)],
            cwd=repo, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        wait_until(self._listens, timeout=20, what=f"the MTA-STS policy server at {ip}:{PORT}")
        log.info(f"MTA-STS policies of {', '.join(sorted(policies))} at https://{ip}{PATH}")

    def _listens(self) -> bool:
        if self._proc.poll() is not None:
            raise AssertionError(f"policy server exited: {(self.dir / 'server.log').read_text()[-500:]}")
        try:
            with socket.create_connection((self.ip, PORT), timeout=1):
                return True
        except OSError:
            return False

    def close(self) -> None:
        procs.end(self._proc)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the server (runs inside the namespace) --------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    policy_dir: Path

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        domain = host.removeprefix("mta-sts.")
        path = self.policy_dir / f"{domain}.txt"
        if self.path != PATH or not host.startswith("mta-sts.") or "/" in domain or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main(address: str, policy_dir: str, cert: str, key: str) -> None:
    _Handler.policy_dir = Path(policy_dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer((address, PORT), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:5])
