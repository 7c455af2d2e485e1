"""TLS: every TLS port presents the facteur certificate for the hostname; TLS 1.0 and 1.1 are refused;
`facteur install` renews a self-signed certificate that is about to expire, keeping its key, and
re-issues it for a new key after the next key's TLSA record was published (DANE rollover)."""
import base64
import datetime
import hashlib
import json
import smtplib
import socket
import ssl
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

IMPLICIT_TLS_PORTS = [465, 993, 995]


def old_tls_context(version):
    """A client context that offers only `version` (and weak ciphers, so only the version decides)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    ctx.minimum_version = version
    ctx.maximum_version = version
    return ctx


@pytest.fixture(scope="module")
def old_tls_client_works(tmp_path_factory):
    """Prove the client side can speak TLS 1.0/1.1 at all (against a local openssl s_server), so the
    refusal tests below can fail if the server ever accepts them."""
    work = tmp_path_factory.mktemp("oldtls")
    key, crt = work / "k.pem", work / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=old",
                    "-keyout", str(key), "-out", str(crt), "-days", "1"], check=True, capture_output=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(crt),
                               "-key", str(key), "-tls1_1", "-cipher", "ALL:@SECLEVEL=0", "-www"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                    with old_tls_context(ssl.TLSVersion.TLSv1_1).wrap_socket(raw) as tls:
                        assert tls.version() == "TLSv1.1"
                return True
            except (ConnectionRefusedError, ssl.SSLError):
                if time.monotonic() > deadline:
                    pytest.skip("this client cannot speak TLS 1.1, so the refusal cannot be tested here")
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("port", IMPLICIT_TLS_PORTS)
def test_certificate_matches_hostname(stack, port):
    ctx = ssl.create_default_context(cafile=stack.ca_file)
    with socket.create_connection((stack.ip, port), timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname=stack.hostname) as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_starttls_certificate_matches_hostname_on_587(stack):
    smtp = smtplib.SMTP(stack.ip, 587, local_hostname="client.test", timeout=20)
    try:
        smtp._host = stack.hostname  # smtplib checks the certificate against the name it connected to
        smtp.starttls(context=ssl.create_default_context(cafile=stack.ca_file))
        assert smtp.sock.version() in ("TLSv1.2", "TLSv1.3")
    finally:
        smtp.close()


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
@pytest.mark.parametrize("port", IMPLICIT_TLS_PORTS)
def test_old_tls_versions_are_refused(stack, old_tls_client_works, port, version):
    with socket.create_connection((stack.ip, port), timeout=20) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            with old_tls_context(version).wrap_socket(raw):
                pass


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_old_tls_refused_on_starttls_587(stack, old_tls_client_works, version):
    smtp = smtplib.SMTP(stack.ip, 587, local_hostname="client.test", timeout=20)
    try:
        with pytest.raises((ssl.SSLError, ConnectionResetError, smtplib.SMTPServerDisconnected)):
            smtp.starttls(context=old_tls_context(version))
    finally:
        smtp.close()


def served_certificate(stack, port: int = 993) -> x509.Certificate:
    with socket.create_connection((stack.ip, port), timeout=20) as raw:
        with stack.ssl_context().wrap_socket(raw, server_hostname=stack.hostname) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def public_key_der(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def test_install_renews_a_self_signed_certificate_about_to_expire(stack):
    key_before = public_key_der(served_certificate(stack))
    # Stand in for a year gone by: the local CA re-issues the server certificate for 5 days only.
    stack.exec(["sh", "-c", "cd /etc/facteur/tls && set -e;"
                " openssl req -new -key server.key -config server.cnf -out short.csr;"
                " openssl x509 -req -in short.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256"
                " -days 5 -extfile server.cnf -extensions server_ext -out short.crt;"
                " cat short.crt ca.crt > server.crt; rm -f short.crt short.csr"])
    result = stack.facteur("install", timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for port in (465, 993):
        cert = served_certificate(stack, port)
        remaining = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
        assert remaining > datetime.timedelta(days=300), (port, cert.not_valid_after_utc)
    # The key stays: TLSA (3 1 1) records published for it remain valid across the renewal.
    assert public_key_der(served_certificate(stack)) == key_before


def published_tlsa(stack) -> list[str]:
    result = stack.facteur("dns", "example.test", "--json")
    assert result.returncode == 0, result.stderr
    return [r["value"] for r in json.loads(result.stdout)["records"] if r["type"] == "TLSA"]


def tlsa_of(spki_der: bytes) -> str:
    return f"3 1 1 {hashlib.sha256(spki_der).hexdigest()}"


def test_key_rollover_publishes_the_next_key_first(noinit_stack):
    # On the machine without systemd: the browser tests pin the key of the systemd ones, and the
    # init scripts' reloads get tested too.
    stack = noinit_stack
    current = public_key_der(served_certificate(stack))
    assert published_tlsa(stack) == [tlsa_of(current)]
    # Step 1 of docs/certificates.md: a next key, whose TLSA record facteur dns prints beside the
    # current one, to be published a few TTLs before the switch.
    stack.exec(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", "/etc/facteur/tls/next.key"])
    stack.exec(["openssl", "pkey", "-pubout", "-outform", "DER", "-in", "/etc/facteur/tls/next.key",
                "-out", "/tmp/next.spki"])
    next_spki = base64.b64decode(stack.exec(["base64", "-w0", "/tmp/next.spki"]).stdout)
    assert published_tlsa(stack) == [tlsa_of(current), tlsa_of(next_spki)]
    # Step 2: the next key becomes the server key; install re-issues the certificate for it.
    stack.exec(["sh", "-c", "cd /etc/facteur/tls && chmod 600 next.key && mv next.key server.key"])
    result = stack.facteur("install", timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for port in (465, 993):
        assert public_key_der(served_certificate(stack, port)) == next_spki, port
    assert published_tlsa(stack) == [tlsa_of(next_spki)]
