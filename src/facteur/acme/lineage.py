"""What certbot holds for facteur: the names and end date of the current certificate, the ACME
server it came from, and whether the TLS services already use it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509

from facteur.acme import paths

_SERVER = re.compile(r"^\s*server\s*=\s*(\S+)\s*$", re.M)


@dataclass(frozen=True)
class Lineage:
    names: tuple[str, ...]      # the certificate's DNS names, as certbot asked for them
    not_after: datetime         # UTC
    serial: int                 # changes with every new certificate
    server: str | None          # ACME directory URL of its renewals (None: not recorded)
    fullchain: Path
    privkey: Path

    def covers_exactly(self, names: list[str]) -> bool:
        return set(self.names) == set(names)

    def deployed(self, tls_dir: Path = paths.TLS_DIR) -> bool:
        """Return True if the services' server.crt and server.key are this certificate and key."""
        try:
            return ((tls_dir / "server.crt").read_bytes() == self.fullchain.read_bytes()
                    and (tls_dir / "server.key").read_bytes() == self.privkey.read_bytes())
        except OSError:
            return False


def certificate_names(pem: bytes) -> tuple[str, ...]:
    """Return the DNS names of the first certificate in `pem` (subjectAltName)."""
    cert = x509.load_pem_x509_certificate(pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(san.get_values_for_type(x509.DNSName))


def read(config_dir: Path = paths.CONFIG_DIR) -> Lineage | None:
    """Return facteur's lineage in certbot's `config_dir`, or None if certbot has none (or it is
    unreadable: then certbot is asked for a new one)."""
    live = paths.live_dir(config_dir)
    try:
        pem = (live / "cert.pem").read_bytes()
        cert = x509.load_pem_x509_certificate(pem)
    except (OSError, ValueError):
        return None
    try:
        match = _SERVER.search(paths.renewal_conf(config_dir).read_text())
    except OSError:
        match = None
    return Lineage(
        names=certificate_names(pem),
        not_after=cert.not_valid_after_utc,
        serial=cert.serial_number,
        server=match.group(1) if match else None,
        fullchain=live / "fullchain.pem",
        privkey=live / "privkey.pem",
    )
