"""`facteur check` pieces that need no mail stack: probe names, the probe message, TLS verified for
the configured hostname while dialling 127.0.0.1, and a clean failure when the database is down."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from facteur.checks import ERROR, exit_code
from facteur.checks.probe import (
    PROBE_PREFIX,
    ProbeOptions,
    probe_address,
    probe_message,
    run_probe,
    tls_context,
)

HOSTNAME = "mail.example.test"


def test_probe_address_is_random_and_valid():
    from facteur.admin.validate import normalize_address

    first, second = probe_address("example.test"), probe_address("example.test")
    assert first != second
    assert first.startswith(PROBE_PREFIX) and first.endswith("@example.test")
    assert normalize_address(first) == first


def test_probe_message_has_a_unique_message_id_at_the_hostname():
    one = probe_message("p@example.test", HOSTNAME)
    two = probe_message("p@example.test", HOSTNAME)
    assert one["Message-ID"] != two["Message-ID"]
    assert one["Message-ID"].startswith(f"<{PROBE_PREFIX}") and one["Message-ID"].endswith(f"@{HOSTNAME}>")
    assert one["From"] == one["To"] == "p@example.test"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificates(tmp_path, server_name: str):
    """Write a CA and a server certificate for `server_name` (signed by that CA); return the paths."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name("test CA")).issuer_name(_name("test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name(server_name)).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(server_name)]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = tmp_path / "ca.crt", tmp_path / "server.crt", tmp_path / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_file, cert_file, key_file


def _tls_server(cert_file, key_file):
    """Serve one TLS handshake on 127.0.0.1 (ephemeral port); return the port."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve():
        try:
            connection, _ = listener.accept()
            with connection:
                try:
                    with server_context.wrap_socket(connection, server_side=True) as tls:
                        tls.recv(1)
                except (ssl.SSLError, OSError):
                    pass
        finally:
            listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def _handshake(context, port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # Like smtplib and imaplib: the address dialled is passed as the server name.
        with context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert()


def test_tls_is_verified_for_the_hostname_not_the_address(tmp_path):
    ca_file, cert_file, key_file = _certificates(tmp_path, HOSTNAME)
    peer = _handshake(tls_context(HOSTNAME, ca_file), _tls_server(cert_file, key_file))
    assert ("DNS", HOSTNAME) in peer["subjectAltName"]


def test_tls_refuses_a_certificate_for_another_name(tmp_path):
    ca_file, cert_file, key_file = _certificates(tmp_path, "other.example.test")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls_context(HOSTNAME, ca_file), _tls_server(cert_file, key_file))


def test_tls_refuses_an_unknown_ca(tmp_path):
    _, cert_file, key_file = _certificates(tmp_path, HOSTNAME)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls_context(HOSTNAME, tmp_path / "absent-ca.crt"), _tls_server(cert_file, key_file))


def test_probe_reports_an_unreachable_database(tmp_path, monkeypatch):
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "mariadb-facteur").write_text("x\n")
    monkeypatch.setenv("FACTEUR_SECRETS_DIR", str(secrets_dir))
    monkeypatch.setenv("FACTEUR_DB_SOCKET", str(tmp_path / "no.sock"))
    settings = SimpleNamespace(hostname=HOSTNAME, domains=["example.test"])
    seen = []
    results = run_probe(settings, options=ProbeOptions(vmail_root=tmp_path), report=seen.append)
    assert results == seen
    assert [r.name for r in results] == ["mailbox"]  # nothing created: nothing to clean up
    assert results[0].status == ERROR and "cannot reach the account database" in results[0].summary
    assert exit_code(results) == 1
