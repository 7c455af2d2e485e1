"""tls.mode acme against pebble, the simulated internet's ACME CA (tests/harness/acmeserver.py).

The module switches the installed stack to mode acme (one `facteur install`), with pebble validating
HTTP-01 on the machine's nginx through the test DNS (every certificate name -> the machine), then:
the first certificate is served on every TLS port; a forced renewal replaces it everywhere while mail
keeps flowing; a domain added with the CLI is re-issued into it, and out of it when removed; a
renewal against a CA that is down shows in `facteur status` and mails the CertificateRenewalFailed
alert. Last, the switch back to selfsigned (a second install) restores the local CA's certificate,
which the rest of the suite trusts; the module's finalizer makes sure of it even after a failure,
and leaves the machine's certificate, key, domains and trust store as it found them.

Only in the Debian 13 machine by default (the CI's time budget: two installs); the acme role is the
same on Debian 12. FACTEUR_TEST_ACME_RELEASES=trixie,bookworm runs it there too.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.harness import install, log
from tests.harness.acmeserver import ACMEServer
from tests.harness.clients import SMTP
from tests.harness.dnsserver import AuthoritativeDNS
from tests.harness.waits import wait_until
from tests.integration.helpers import make_mailbox
from tests.integration.test_monitoring import alert_mail, firing, query, wait_firing, wait_gone
from tests.integration.test_web import _roundcube_login

RELEASES = [r.strip() for r in os.environ.get("FACTEUR_TEST_ACME_RELEASES", "trixie").split(",") if r.strip()]
CONFIG = "/etc/facteur/facteur.yml"
TLS = "/etc/facteur/tls"
LINEAGE = "/etc/facteur/certbot/live/facteur"
CERTBOT_DIRS = ["/etc/facteur/certbot", "/var/lib/facteur/certbot", "/var/log/facteur/certbot"]
API_CA = "/etc/facteur/test-acme-api-ca.pem"
ROOT_IN_STORE = "/usr/local/share/ca-certificates/facteur-test-pebble-root.crt"
ADDED = "acme-added.test"
ADMIN = "postmaster@example.test"
USER, PASSWORD = "acme-user@example.test", "acme-user-pw-1"
PORTS = [25, 465, 587, 993, 995, 443]
STARTTLS = {25, 587}
SERVICES = ["postfix", "dovecot", "nginx"]


def leaf(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def dns_names(cert: x509.Certificate) -> set[str]:
    return set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
               .get_values_for_type(x509.DNSName))


def tlsa_of(cert: x509.Certificate) -> str:
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"3 1 1 {hashlib.sha256(spki).hexdigest()}"


def expected_names(hostname: str, domains: list[str]) -> set[str]:
    return {hostname} | {f"{sub}.{d}" for d in domains for sub in ("autoconfig", "autodiscover", "mta-sts")}


def served(stack, port: int, cafile: str, name: str | None = None) -> x509.Certificate:
    """Return the certificate the machine presents on `port` (STARTTLS on 25 and 587), verified
    against `cafile` alone and against `name` (default: the hostname)."""
    name = name or stack.hostname
    context = ssl.create_default_context(cafile=cafile)
    if port in STARTTLS:
        with SMTP(name, port, ip=stack.ip, timeout=30, local_hostname="client.test",
                  tls_context=context) as smtp:
            smtp.starttls()
            return x509.load_der_x509_certificate(smtp.sock.getpeercert(binary_form=True))
    with socket.create_connection((stack.ip, port), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname=name) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


class AcmeStack:
    """The stack switched to mode acme, and what it takes to switch it back exactly."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.container = stack.container
        self.tmp = Path(tempfile.mkdtemp(prefix="facteur-acme-test-"))
        self.local_ca = stack.ca_file
        self.original_config = stack.read_file(CONFIG)
        self.original_key = stack.read_file(f"{TLS}/server.key")
        self.original_crt = stack.read_file(f"{TLS}/server.crt")
        self.domains: list[str] = []
        self.dns: AuthoritativeDNS | None = None
        self.pebble: ACMEServer | None = None
        self.root_file = str(self.tmp / "pebble-root.pem")
        self.installs: list[float] = []
        self.restored = False
        self.started = 0.0

    # -- setting up ---------------------------------------------------------------------------

    def hosted_domains(self) -> list[str]:
        result = self.stack.facteur("domain", "list", "--json")
        assert result.returncode == 0, result.stderr
        return [row["domain"] for row in json.loads(result.stdout) if row["active"] and not row["alias_of"]]

    def serve_dns(self) -> None:
        """Every name the certificate may need (the hosted domains' and ADDED's) -> the machine."""
        domains = sorted({*self.hosted_domains(), ADDED})
        names = expected_names(self.stack.hostname, domains)
        zones = sorted({f"{d}." for d in domains} | {self.stack.hostname.split(".", 1)[1] + "."})
        self.dns.serve([(f"{name}.", "A", self.stack.ip) for name in sorted(names)], zones)

    def put(self, path: str, text: str) -> None:
        self.stack.exec(["sh", "-c", 'cat > "$1"', "sh", path], input=text)

    def trust_pebble(self) -> None:
        """Pebble's root stands for a public CA: in the machine's trust store (Roundcube, the
        monitoring's probes, `facteur check`) and in the test clients'."""
        root = self.pebble.root_pem()
        Path(self.root_file).write_text(root)
        both = self.tmp / "local-ca-and-pebble-root.pem"
        both.write_text(Path(self.local_ca).read_text() + root)
        # stack.smtp(), stack.imap(), wait_for_message() trust both while the module runs.
        self.stack.ca_file = str(both)
        self.put(ROOT_IN_STORE, root)
        self.stack.exec(["update-ca-certificates"])

    def install(self, config: str) -> None:
        self.put(CONFIG, config)
        started = time.monotonic()
        result = install.run_install(self.container)
        self.installs.append(time.monotonic() - started)
        log.info(f"acme: facteur install took {self.installs[-1]:.0f}s")
        assert result.returncode == 0, f"install failed (log: {result.logfile}):\n{result.stdout[-3000:]}"

    def switch_to_acme(self) -> None:
        # From a quiet monitoring (a machine just installed may still have its services' alerts
        # firing): the last test checks that nothing fired from here on.
        def quiet() -> bool:
            return not any(firing(self.stack, "ServiceDown", service=service) for service in SERVICES)
        wait_until(quiet, 180, 2.0, "no ServiceDown alert firing before the switch")
        self.started = time.time()
        settings = yaml.safe_load(self.original_config) or {}
        settings["tls"] = {"mode": "acme", "acme_directory": self.pebble.directory,
                           "acme_email": ADMIN, "acme_ca_bundle": API_CA}
        self.put(API_CA, self.pebble.api_ca_pem.decode())
        self.install("# tests/integration/test_acme.py\n" + yaml.safe_dump(settings, sort_keys=False))

    # -- switching back -----------------------------------------------------------------------

    def restore(self) -> None:
        """Switch back to the original configuration (mode selfsigned) with `facteur install`."""
        if self.restored:
            return
        self.restored = True
        self.install(self.original_config)

    def finish(self) -> None:
        """After restore(): the original key and certificate (an identical TLSA record for the
        modules after this one), the domain and the trust store as they were. Each step runs even if
        an earlier one failed; the first failure is raised at the end."""
        errors: list[BaseException] = []

        def step(function, *args) -> None:
            try:
                function(*args)
            except BaseException as exc:  # noqa: BLE001 - collected, raised below
                errors.append(exc)

        step(self.restore)
        step(self._exact_certificate)
        if ADDED in self.hosted_domains():
            step(lambda: self.stack.facteur("domain", "remove", ADDED, "--force"))
        step(self.stack.exec, ["rm", "-rf", API_CA, ROOT_IN_STORE, *CERTBOT_DIRS])
        step(self.stack.exec, ["update-ca-certificates", "--fresh"])
        self.stack.ca_file = self.local_ca
        for helper in (self.pebble, self.dns):
            if helper is not None:
                step(helper.close)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if errors:
            raise errors[0]

    def _exact_certificate(self) -> None:
        self.put(f"{TLS}/server.key", self.original_key)
        self.put(f"{TLS}/server.crt", self.original_crt)
        for service in SERVICES:
            self.stack.exec(["service", service, "reload"])
        wait_until(lambda: all(der(served(self.stack, p, self.local_ca)) == der(leaf(self.original_crt))
                               for p in PORTS), 30, 1.0, "the original certificate on every port")


@pytest.fixture(scope="module")
def acme(stack):
    if stack.release not in RELEASES:
        pytest.skip(f"ACME tests run in the {', '.join(RELEASES)} machine only (CI time budget; the "
                    "acme role is the same on every release): FACTEUR_TEST_ACME_RELEASES adds others")
    session = AcmeStack(stack)
    try:
        if ADDED in session.hosted_domains():  # left by an interrupted run
            stack.facteur("domain", "remove", ADDED, "--force")
        session.dns = AuthoritativeDNS(stack.container)
        session.serve_dns()
        session.pebble = ACMEServer(stack.container, session.dns.ip)
        session.trust_pebble()
        session.switch_to_acme()
        yield session
    finally:
        session.finish()
        log.info(f"acme: installs took {', '.join(f'{s:.0f}s' for s in session.installs)}")


def lineage_leaf(stack) -> x509.Certificate:
    return leaf(stack.read_file(f"{LINEAGE}/cert.pem"))


# ------------------------------------------------------------------------------------------------


def test_first_issuance_covers_every_hosted_name(acme):
    stack = acme.stack
    cert = lineage_leaf(stack)
    assert dns_names(cert) == expected_names(stack.hostname, acme.hosted_domains())
    # Issued by pebble, installed for the services (leaf first, then the chain).
    assert stack.read_file(f"{TLS}/server.crt") == stack.read_file(f"{LINEAGE}/fullchain.pem")
    assert "Pebble" in cert.issuer.rfc4514_string()
    # The first issuance brings a new key: `facteur dns` prints its TLSA record.
    assert tlsa_of(cert) != tlsa_of(leaf(acme.original_crt))
    records = json.loads(stack.facteur("dns", "example.test", "--json").stdout)["records"]
    assert [r["value"] for r in records if r["type"] == "TLSA"] == [tlsa_of(cert)]
    status = stack.facteur("status")
    acme_lines = [line for line in status.stdout.splitlines() if " acme " in line]
    assert acme_lines and acme_lines[0].startswith("ok"), status.stdout
    timer = stack.exec(["systemctl", "is-enabled", "facteur-certificate-renew.timer"]).stdout.strip()
    assert timer == "enabled"


@pytest.mark.parametrize("port", PORTS)
def test_services_serve_the_acme_certificate(acme, port):
    """Each TLS service presents pebble's certificate: verified against pebble's root alone."""
    assert der(served(acme.stack, port, acme.root_file)) == der(lineage_leaf(acme.stack))


def test_clients_inside_the_machine_trust_the_acme_certificate(acme):
    """Roundcube (IMAPS to Dovecot, certificate checked), `facteur check` and the monitoring's probes
    verify the new certificate through the system's trust store."""
    stack = acme.stack
    _roundcube_login(stack, ADMIN, stack.admin_password)
    check = stack.facteur("check", timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr

    def probes() -> dict[str, str]:
        return {r["metric"]["instance"]: r["value"][1] for r in query(stack, "probe_success")}
    wait_until(lambda: set(probes().values()) == {"1"}, 90, 2.0, "every probe passing")


def _message(tag: str, number: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"] = USER, USER
    msg["Subject"] = f"{tag} {number}"
    msg["Date"] = email.utils.formatdate()
    msg["Message-ID"] = f"<{tag}-{number}@example.test>"
    msg.set_content("sent while the certificate is renewed\n")
    return msg


def _count_delivered(stack, tag: str) -> int:
    imap = stack.imap(USER, PASSWORD)
    try:
        imap.select("INBOX", readonly=True)
        _, data = imap.search(None, "SUBJECT", f'"{tag}"')
        return len(data[0].split())
    finally:
        imap.logout()


def test_forced_renewal_swaps_the_certificate_everywhere_without_losing_mail(acme):
    stack = acme.stack
    make_mailbox(stack, USER, PASSWORD)
    before = lineage_leaf(stack)
    tag = f"renewal-{uuid.uuid4().hex[:8]}"
    sent: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def send_continuously() -> None:
        # A new connection (and TLS handshake) per message, alternately on 587 (STARTTLS) and 465,
        # so that some land while the services reload. Well under the hourly sending limit (500).
        number = 0
        while not stop.is_set() and number < 200:
            number += 1
            port = 587 if number % 2 else 465
            try:
                with contextlib.closing(stack.smtp(port) if port == 587 else stack.smtp_ssl(port)) as smtp:
                    if port == 587:
                        smtp.starttls()
                    smtp.login(USER, PASSWORD)
                    smtp.send_message(_message(tag, number))
                    smtp.quit()
                sent.append(number)
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                failures.append(f"message {number} on {port}: {exc!r}")
            time.sleep(0.3)

    sender = threading.Thread(target=send_continuously, daemon=True)
    sender.start()
    try:
        wait_until(lambda: len(sent) >= 3 or failures, 60, 0.2, "mail flowing before the renewal")
        result = stack.facteur("certificate", "renew", "--force", timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "renewed" in result.stdout
        count = len(sent)
        wait_until(lambda: len(sent) >= count + 3 or failures, 60, 0.2, "mail flowing after the renewal")
    finally:
        stop.set()
        sender.join(timeout=120)
    assert not failures, failures
    after = lineage_leaf(stack)
    assert after.serial_number != before.serial_number
    assert tlsa_of(after) == tlsa_of(before), "--reuse-key: the renewal keeps the key (and the TLSA record)"
    for port in PORTS:
        assert der(served(stack, port, acme.root_file)) == der(after), f"port {port}: not the new certificate"
    wait_until(lambda: _count_delivered(stack, tag) == len(sent), 120, 2.0,
               f"all {len(sent)} messages sent around the renewal delivered")


def test_adding_a_domain_reissues_the_certificate_with_its_names(acme):
    stack = acme.stack
    before = lineage_leaf(stack)
    result = stack.facteur("domain", "add", ADDED, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "certificate re-issued" in result.stdout
    cert = lineage_leaf(stack)
    assert dns_names(cert) == dns_names(before) | expected_names(stack.hostname, [ADDED])
    assert tlsa_of(cert) == tlsa_of(before)
    # A client of the new domain gets it, name checked: MTA-STS policy fetchers do exactly this.
    # nginx's reload is asynchronous: its new workers serve the new certificate a moment later.
    wait_until(lambda: der(served(stack, 443, acme.root_file, f"mta-sts.{ADDED}")) == der(cert), 30, 1.0,
               f"port 443 serving the new certificate to mta-sts.{ADDED}")
    assert der(served(stack, 993, acme.root_file)) == der(cert)


def test_removing_the_domain_reissues_the_certificate_without_its_names(acme):
    stack = acme.stack
    before = lineage_leaf(stack)
    result = stack.facteur("domain", "remove", ADDED, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    cert = lineage_leaf(stack)
    assert dns_names(cert) == dns_names(before) - (expected_names(stack.hostname, [ADDED]) - {stack.hostname})
    assert der(served(stack, 443, acme.root_file)) == der(cert)


def test_failed_renewal_shows_in_status_and_mails_an_alert(acme):
    stack = acme.stack
    current = lineage_leaf(stack)
    acme.pebble.stop()  # the ACME CA is down
    since = time.time()
    result = stack.facteur("certificate", "renew", "--force", timeout=300)
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("facteur: error: renewal from "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    status = stack.facteur("status")
    assert status.returncode == 1
    acme_lines = [line for line in status.stdout.splitlines() if " acme " in line]
    assert acme_lines and acme_lines[0].startswith("error") and "failed" in acme_lines[0], status.stdout
    assert "sudo facteur certificate renew" in acme_lines[0]
    # The services keep the certificate they have.
    assert der(served(stack, 443, acme.root_file)) == der(current)
    alerts = wait_firing(stack, "CertificateRenewalFailed", service="tls")
    assert alerts[0]["annotations"]["description"]
    stack.wait_for_message(ADMIN, stack.admin_password,
                           alert_mail("FIRING", "CertificateRenewalFailed", "tls", since), timeout=120)


def test_switching_back_to_selfsigned_restores_the_local_ca_certificate(acme):
    stack = acme.stack
    acme.restore()
    for port in PORTS:
        cert = served(stack, port, acme.local_ca)  # the local CA alone verifies it again
        assert stack.hostname in dns_names(cert), port
    status = stack.facteur("status")
    assert " acme " not in status.stdout, status.stdout
    for path in ["/etc/systemd/system/facteur-certificate-renew.timer",
                 "/var/lib/prometheus/node-exporter/facteur_acme.prom", "/var/lib/facteur/certificate"]:
        assert stack.exec(["test", "-e", path], check=False).returncode != 0, f"{path} left behind"
    # The metric is gone with the mode: the alert resolves.
    wait_gone(stack, "CertificateRenewalFailed", timeout=90, service="tls")
    # Neither switch nor any certificate change made a probe fail long enough for an alert: the
    # services and the probes' trust change together.
    window = int(time.time() - acme.started)
    fired = query(stack, f'max_over_time(ALERTS{{alertname="ServiceDown",alertstate="firing",'
                         f'service=~"postfix|dovecot|nginx"}}[{window}s])')
    assert fired == [], [f"{r['metric'].get('service')} {r['metric'].get('instance')}" for r in fired]
