"""DANE TLSA associations (usage 3, selector 1, matching type 1) of this server's keys."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key


def _association(public_key) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"3 1 1 {hashlib.sha256(der).hexdigest()}"


def from_certificate(pem: bytes) -> str:
    """Return `3 1 1 <sha256 of the SubjectPublicKeyInfo>` of the first certificate in `pem`."""
    return _association(x509.load_pem_x509_certificate(pem).public_key())


def from_private_key(pem: bytes) -> str:
    """Return the association of the public half of a PEM private key (a key not yet in use)."""
    return _association(load_pem_private_key(pem, password=None).public_key())


def associations(cert_file: Path, next_key_file: Path | None = None) -> list[str]:
    """Return the TLSA data of the certificate in use and, if it exists, of the next key.

    Publishing the next key ahead lets a key change happen without a window where DANE fails.
    A missing certificate gives [] (nothing installed yet).
    """
    found = []
    try:
        found.append(from_certificate(cert_file.read_bytes()))
    except FileNotFoundError:
        return []
    if next_key_file is not None and next_key_file.exists():
        found.append(from_private_key(next_key_file.read_bytes()))
    return list(dict.fromkeys(found))
