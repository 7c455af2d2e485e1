"""The simulated internet's ACME certificate authority: Debian's pebble in a peer namespace.

Like nsd (dnsserver) it runs on the host (installed by ./tests/run, never as a host service) in a
client namespace of its own on a container's link (198.18.N.60), so only that link reaches it. It
asks the test nsd for the names it validates (`-dnsserver`) and fetches the HTTP-01 challenges on
port 80 of the address nsd gives, the container's nginx.

Two different CAs are involved: the one made here signs pebble's own HTTPS certificate (its API
on :14000 and management on :15000; the container's certbot trusts it through
tls.acme_ca_bundle), while pebble makes a new issuing root at every start (`root_pem()`), which
the test clients trust for the certificates it issues.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import log, netns, procs
from .container import Container
from .hostcmd import run
from .waits import wait_until

PEBBLE = "/usr/bin/pebble"
HOST = 60  # 198.18.N.60
API_PORT = 14000
MANAGEMENT_PORT = 15000
# Clock differences between the host and the container must not make a fresh certificate "not yet valid".
BACKDATE = datetime.timedelta(hours=1)
VALID = datetime.timedelta(days=2)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def api_certificate(ip: str) -> tuple[bytes, bytes, bytes]:
    """Make a CA and, signed by it, a certificate for `ip` (an IP address SAN, as certbot connects
    to the address); return (CA PEM, certificate PEM, key PEM)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "facteur tests: pebble API CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - BACKDATE).not_valid_after(now + VALID)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + VALID)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return _pem(ca), _pem(cert), key_pem


class ACMEServer:
    """pebble on `container`'s link, resolving names through the test DNS at `dns_ip`.

    `directory` is the URL certbot is given, `api_ca_pem` the CA of its HTTPS certificate;
    `stop()` makes it unreachable (a CA that is down), `close()` removes everything.
    """

    def __init__(self, container: Container, dns_ip: str) -> None:
        if not os.access(PEBBLE, os.X_OK):
            raise AssertionError(f"{PEBBLE} missing: ./tests/run installs Debian's pebble on the host")
        self.container = container
        self.netns, self.ip = netns.add_client(container.netns, container.slot, HOST)
        # A namespace left by an earlier run had another MAC address: let the container ask again.
        run(["ip", "-n", container.netns, "neigh", "flush", "to", self.ip], check=False)
        self.dir = Path(tempfile.mkdtemp(prefix="facteur-acme-"))
        self.api_ca_pem, cert_pem, key_pem = api_certificate(self.ip)
        (self.dir / "api-ca.pem").write_bytes(self.api_ca_pem)
        (self.dir / "cert.pem").write_bytes(cert_pem)
        (self.dir / "key.pem").write_bytes(key_pem)
        (self.dir / "key.pem").chmod(0o600)
        (self.dir / "pebble.json").write_text(json.dumps({"pebble": {
            "listenAddress": f"{self.ip}:{API_PORT}",
            "managementListenAddress": f"{self.ip}:{MANAGEMENT_PORT}",
            "certificate": str(self.dir / "cert.pem"),
            "privateKey": str(self.dir / "key.pem"),
            # Validate HTTP-01 on the real port: the container's nginx, as Let's Encrypt would.
            "httpPort": 80,
            "tlsPort": 443,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }}, indent=1))
        self.dns_ip = dns_ip
        self._proc: subprocess.Popen | None = None
        self.directory = f"https://{self.ip}:{API_PORT}/dir"
        self.start()

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.api_ca_pem.decode())

    def _get(self, url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=5, context=self._context()) as answer:  # noqa: S310
            return answer.read()

    def start(self) -> None:
        """Start pebble (a new issuing root each time) and return once its directory answers."""
        self.stop()
        out = open(self.dir / "pebble.log", "ab")
        # No artificial validation delay; every good nonce accepted (pebble rejects 5% by default,
        # to exercise clients' retries: certbot retries, but a test need not wait for it).
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
        self._proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, PEBBLE, "-config", str(self.dir / "pebble.json"),
             "-dnsserver", f"{self.dns_ip}:53"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        out.close()
        wait_until(self._answers, timeout=30, what=f"pebble's ACME directory at {self.directory}")
        log.info(f"acme: pebble at {self.directory} (validates through nsd at {self.dns_ip})")

    def _answers(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise AssertionError(f"pebble exited: {self.log()[-800:]}")
        return b"newOrder" in self._get(self.directory)

    def root_pem(self) -> str:
        """Return the root certificate that pebble's issued chains lead to (new at every start)."""
        return self._get(f"https://{self.ip}:{MANAGEMENT_PORT}/roots/0").decode()

    def log(self) -> str:
        return (self.dir / "pebble.log").read_text(errors="replace")

    def stop(self) -> None:
        if self._proc is not None:
            procs.end(self._proc)
            self._proc = None

    def close(self) -> None:
        self.stop()
        netns.remove_client(self.container.netns, self.container.slot, HOST)
        shutil.rmtree(self.dir, ignore_errors=True)
