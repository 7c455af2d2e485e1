"""`facteur dns`: the records to publish, checked against a real authoritative DNS server (nsd); the
senders' DMARC policies, fetched from it through the local resolver, honoured by rspamd.

The zone the test DNS serves is built from `facteur dns --json` itself, the way an administrator
would publish it; `--check` must then find every record, and must name one that was removed.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import smtplib
import time
import uuid
from email.message import EmailMessage

import dkim
import dns.message
import dns.query
import dns.rdatatype
import pytest

from tests.harness.dnsserver import NSD, AuthoritativeDNS
from tests.harness.outsidemta import OutsideMTA
from tests.harness.waits import wait_for_message, wait_until
from tests.integration import helpers
from tests.integration.helpers import make_mailbox, smtp_client

DOMAIN = "example.test"


def published_records(stack) -> list[dict]:
    cp = stack.facteur("dns", DOMAIN, "--json")
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout)["records"]


def zones(stack) -> list[str]:
    reverse = ".".join(reversed(stack.container.ip.split(".")[:3])) + ".in-addr.arpa."
    return [f"{DOMAIN}.", reverse]


@pytest.fixture(scope="module")
def dns_server(stack):
    if not shutil.which(NSD):
        pytest.fail(f"{NSD} missing: ./tests/run installs Debian's nsd on the host")
    server = AuthoritativeDNS(stack.container)
    yield server
    server.close()


def check(stack, server) -> tuple[int, dict[str, str]]:
    cp = stack.facteur("dns", DOMAIN, "--check", "--json", "--server", server.ip)
    findings = json.loads(cp.stdout)["findings"]
    return cp.returncode, {f"{f['type']} {f['name']}": f["state"] for f in findings}


def test_records_name_this_server_and_its_address(stack):
    cp = stack.facteur("dns", DOMAIN)
    assert cp.returncode == 0, cp.stderr
    lines = [line.split() for line in cp.stdout.splitlines() if not line.startswith(";")]
    assert [f"{DOMAIN}.", "3600", "IN", "MX", "10", f"{stack.hostname}."] in lines
    assert [f"{stack.hostname}.", "3600", "IN", "A", stack.container.ip] in lines
    assert "; required: " in cp.stdout and "; recommended: " in cp.stdout


def test_unknown_domain_is_one_line_error(stack):
    cp = stack.facteur("dns", "not-hosted.example")
    assert cp.returncode != 0
    assert cp.stderr.strip() == "facteur: error: domain not-hosted.example is not hosted here " \
                                "(see: facteur domain list)"


def test_check_passes_when_everything_is_published(stack, dns_server):
    records = published_records(stack)
    dns_server.serve([(r["name"], r["type"], r["value"]) for r in records], zones(stack))
    code, states = check(stack, dns_server)
    assert code == 0, states
    assert {name: state for name, state in states.items() if state != "ok"} == {}
    assert len(states) == len(records)


def test_check_reports_a_removed_record(stack, dns_server):
    records = [r for r in published_records(stack) if not r["name"].startswith("_dmarc.")]
    dns_server.serve([(r["name"], r["type"], r["value"]) for r in records], zones(stack))
    cp = stack.facteur("dns", DOMAIN, "--check", "--server", dns_server.ip)
    assert cp.returncode == 1
    assert "1 required record(s) missing or different" in cp.stderr
    missing = [line for line in cp.stdout.splitlines() if line.startswith("missing")]
    assert len(missing) == 1 and f"_dmarc.{DOMAIN}." in missing[0], cp.stdout


def test_check_reports_a_changed_record(stack, dns_server):
    records = [(r["name"], r["type"], "10 mx.elsewhere.example." if r["type"] == "MX" else r["value"])
               for r in published_records(stack)]
    dns_server.serve(records, zones(stack))
    code, states = check(stack, dns_server)
    assert code == 1 and states[f"MX {DOMAIN}."] == "different"


def test_mta_sts_policy_is_served_and_matches_the_published_id(stack):
    """A sender's view (RFC 8461): fetch the policy over HTTPS with a valid certificate for
    mta-sts.DOMAIN, parse it, and find its id in the `_mta-sts` record facteur publishes."""
    import hashlib

    from tests.integration.test_autoconfig import https

    status, headers, text = https(stack, "GET", "/.well-known/mta-sts.txt", f"mta-sts.{DOMAIN}")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    policy = dict(line.split(": ", 1) for line in text.split("\r\n") if line)
    assert policy == {"version": "STSv1", "mode": "testing", "mx": stack.hostname, "max_age": "604800"}
    sts = [r for r in published_records(stack) if r["name"] == f"_mta-sts.{DOMAIN}."]
    assert sts and sts[0]["value"] == f'"v=STSv1; id={hashlib.sha256(text.encode()).hexdigest()[:20]}"'


def test_tlsa_record_matches_the_key_served_on_port_25(stack):
    import hashlib
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    with stack.smtp(25) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=stack.ca_file))
        der = smtp.sock.getpeercert(binary_form=True)
    spki = x509.load_der_x509_certificate(der).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    tlsa = [r["value"] for r in published_records(stack) if r["type"] == "TLSA"]
    assert tlsa and tlsa[0] == f"3 1 1 {hashlib.sha256(spki).hexdigest()}"


# --- the local validating resolver (unbound) -----------------------------------------------------

def test_server_resolves_through_its_own_validating_resolver(stack):
    assert "nameserver 127.0.0.1" in stack.read_file("/etc/resolv.conf").splitlines()
    checked = stack.exec(["unbound-checkconf", "-o", "module-config"]).stdout.strip()
    assert "validator" in checked  # DNSSEC validation on
    postconf = stack.exec(["postconf", "-h", "smtp_tls_security_level", "smtp_dns_support_level"]).stdout
    assert postconf.split() == ["dane", "dnssec"]
    # rspamd (SPF, DKIM, DMARC, blocklists) asks it too, not resolv.conf's list.
    options = stack.exec(["rspamadm", "configdump", "options"]).stdout
    assert re.search(r"nameserver[^;\]]*127\.0\.0\.1:53", options), options[:3000]


@contextlib.contextmanager
def stub_zones(stack, server, names: list[str]):
    """Point the local resolver at the test DNS for `names` (as network.dns_stub_zones would)."""
    with helpers.stub_zones(stack, [{"zone": name, "servers": [server.ip]} for name in names]):
        yield


@pytest.fixture
def stub_zone(stack, dns_server):
    """The local resolver asks the test DNS for example.test and the reverse zone."""
    with stub_zones(stack, dns_server, [zone.rstrip(".") for zone in zones(stack)]):
        yield


def test_check_through_the_local_resolver(stack, dns_server, stub_zone):
    """`facteur dns --check` without --server asks the system resolver: unbound, then the zone's server."""
    records = published_records(stack)
    dns_server.serve([(r["name"], r["type"], r["value"]) for r in records], zones(stack))
    cp = stack.facteur("dns", DOMAIN, "--check")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "missing" not in cp.stdout and "different" not in cp.stdout


# --- the sender's DMARC policy, honoured by rspamd through the local resolver ---------------------

# Two outside domains in the test DNS: both allow only another address by SPF (-all) and sign
# nothing, so mail from this test client fails DMARC for both; one publishes p=reject, one p=none.
STRICT, LAX = "strict-sender.test", "lax-sender.test"
DMARC_RCPT, DMARC_RCPT_PW = "dmarc-rcpt@example.test", "dmarc-rcpt-pw-1"


@pytest.fixture
def outside_senders(stack, dns_server):
    records = []
    for domain, policy in ((STRICT, "reject"), (LAX, "none")):
        records += [(f"{domain}.", "TXT", '"v=spf1 ip4:198.18.255.254 -all"'),
                    (f"_dmarc.{domain}.", "TXT", f'"v=DMARC1; p={policy}"')]
    dns_server.serve(records, [f"{STRICT}.", f"{LAX}."])
    make_mailbox(stack, DMARC_RCPT, DMARC_RCPT_PW)
    with stub_zones(stack, dns_server, [STRICT, LAX]):
        yield


def send_from(stack, domain: str) -> str:
    """Send a message from news@DOMAIN to port 25 as that domain's MTA would; return its Message-ID."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"news@{domain}", DMARC_RCPT, "Monthly newsletter"
    msg["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@{domain}>"
    msg.set_content("Hello,\n\nthe newsletter of this month.\n")
    with smtp_client(stack, 25) as smtp:
        smtp.send_message(msg, from_addr=f"news@{domain}", to_addrs=[DMARC_RCPT])
    return msg["Message-ID"]


def test_mail_failing_dmarc_of_a_p_reject_domain_is_refused(stack, outside_senders):
    # p=none: the same failure is only scored, and the message is delivered.
    message_id = send_from(stack, LAX)
    delivered = wait_for_message(lambda: stack.imap(DMARC_RCPT, DMARC_RCPT_PW),
                                 lambda m: m["Message-ID"] == message_id)
    results = " ".join(str(delivered.get("Authentication-Results", "")).split())
    assert "spf=fail" in results and "dmarc=fail" in results and "(policy=none)" in results, results
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send_from(stack, STRICT)
    assert refused.value.smtp_code in (550, 554), refused.value


# --- a DNS blocklist of clients (filter.client_blocklists) -----------------------------------------

BLOCKLIST = "bl.test"


@pytest.fixture
def blocklist_listing_this_client(stack, dns_server):
    """The test DNS serves a blocklist that lists the test client's address, and facteur is
    installed with it in filter.client_blocklists."""
    client = stack.container.host_ip
    listed = ".".join(reversed(client.split("."))) + f".{BLOCKLIST}."
    dns_server.serve([(listed, "A", "127.0.0.2"), (listed, "TXT", '"listed for the facteur test"')],
                     [f"{BLOCKLIST}."])
    make_mailbox(stack, DMARC_RCPT, DMARC_RCPT_PW)
    config = stack.read_file("/etc/facteur/facteur.yml")
    restrictions = stack.exec(["postconf", "-h", "smtpd_recipient_restrictions"]).stdout.strip()
    assert "\nfilter:\n" in config
    listed_config = config.replace("\nfilter:\n", f"\nfilter:\n  client_blocklists: [{BLOCKLIST}]\n", 1)
    stack.exec(["sh", "-c", 'cat > "$1"', "sh", "/etc/facteur/facteur.yml"], input=listed_config)
    try:
        result = stack.facteur("install", timeout=1200)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        with stub_zones(stack, dns_server, [BLOCKLIST]):
            yield
    finally:
        # Back to the test configuration without a second install: the same restrictions as it
        # rendered before (every later port-25 test would otherwise wait on the list's lookups).
        stack.exec(["sh", "-c", 'cat > "$1"', "sh", "/etc/facteur/facteur.yml"], input=config)
        stack.exec(["postconf", "-e", f"smtpd_recipient_restrictions={restrictions}"])
        stack.exec(["postfix", "reload"])


def test_client_listed_in_a_blocklist_is_refused_on_port_25(stack, blocklist_listing_this_client):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send_from(stack, "lax-sender.test")
    code, text = refused.value.recipients[DMARC_RCPT]
    assert code == 554 and BLOCKLIST.encode() in text, (code, text)
    # Users on submission are never checked against it.
    make_mailbox(stack, "listed-user@example.test", "listed-user-pw-1")
    with smtp_client(stack, 587) as smtp:
        smtp.login("listed-user@example.test", "listed-user-pw-1")
        smtp.sendmail("listed-user@example.test", [DMARC_RCPT],
                      "Subject: from a listed address\r\n\r\nHi\r\n")


# --- outbound: DKIM verified by the receiving server through DNS -----------------------------------

OUTSIDE_DOMAIN = "outside-mx.test"
DKIM_SENDER, DKIM_SENDER_PW = "dkim-sender@example.test", "dkim-sender-pw-1"


@pytest.fixture
def outside_mta(stack, dns_server):
    """An outside domain whose MX is the SMTP sink, with this server's own records in the test DNS
    (the receiving side looks up our DKIM key there)."""
    sink = OutsideMTA(stack.container)
    try:
        ours = [(r["name"], r["type"], r["value"]) for r in published_records(stack)]
        outside = [(f"{OUTSIDE_DOMAIN}.", "MX", f"10 mx.{OUTSIDE_DOMAIN}."),
                   (f"mx.{OUTSIDE_DOMAIN}.", "A", sink.ip)]
        dns_server.serve(ours + outside, zones(stack) + [f"{OUTSIDE_DOMAIN}."])
        make_mailbox(stack, DKIM_SENDER, DKIM_SENDER_PW)
        with stub_zones(stack, dns_server, [OUTSIDE_DOMAIN]):
            yield sink
    finally:
        sink.close()


def test_outbound_mail_is_dkim_signed_and_verified_through_dns(stack, dns_server, outside_mta):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = DKIM_SENDER, f"partner@{OUTSIDE_DOMAIN}", "Quarterly figures"
    msg["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@example.test>"
    msg.set_content("Hello,\n\nthe figures are attached in the next message.\n")
    with smtp_client(stack, 587) as smtp:
        smtp.login(DKIM_SENDER, DKIM_SENDER_PW)
        smtp.send_message(msg)
    marker = msg["Message-ID"].encode()
    received = wait_until(lambda: next((m for m in outside_mta.messages() if marker in m), None),
                          timeout=90, what="the message at the outside MX")

    def txt_from_test_dns(name: bytes, timeout: int = 5) -> bytes | None:
        # The receiving server's resolver: the authoritative test DNS.
        query = dns.message.make_query(name.decode().rstrip(".") + ".", dns.rdatatype.TXT)
        answer = dns.query.udp(query, dns_server.ip, timeout=timeout).answer
        return b"".join(b"".join(r.strings) for rrset in answer for r in rrset) or None

    assert b"DKIM-Signature:" in received
    assert dkim.verify(received, dnsfunc=txt_from_test_dns), received[:3000]
    # A changed body no longer verifies: the check above can fail.
    assert not dkim.verify(received.replace(b"figures are attached", b"figures are missing"),
                           dnsfunc=txt_from_test_dns)
