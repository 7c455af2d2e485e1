"""Transport security of outbound mail in the simulated internet: DANE through the local validating
resolver, other domains' MTA-STS policies through postfix-mta-sts-resolver, and our own MTA-STS
policy as a sending server's client fetches it.

One outside MX (the SMTP sink, STARTTLS with a certificate from a test CA) receives for every
outside domain; the test DNS serves them from two zones, one DNSSEC-signed (DANE) and validated
by the machine's unbound from its trust anchor, one unsigned (MTA-STS). Each refusal case has a
delivered twin that differs only in what makes it fail, so that a failure means what it says.
Everything installed for the test (stub zones, the CA in the system store, queued mail, the
resolver's cache) is removed at the end.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace

import pytest

from facteur.dns import tlsa
from tests.harness.dnsserver import NSD, AuthoritativeDNS
from tests.harness.mtastsweb import PolicyWeb, policy_text
from tests.harness.outsidemta import OutsideMTA
from tests.harness.testca import TestCA
from tests.harness.waits import wait_until
from tests.integration.helpers import make_mailbox, smtp_client, stub_zones

OURS = "example.test"
SIGNED_ZONE, UNSIGNED_ZONE = "dnssec.test", "sts.test"
DANE_OK, DANE_BAD = f"dane-ok.{SIGNED_ZONE}", f"dane-bad.{SIGNED_ZONE}"
STS_OK, STS_BAD = f"enforce-ok.{UNSIGNED_ZONE}", f"enforce-bad.{UNSIGNED_ZONE}"
OUTSIDE = (DANE_OK, DANE_BAD, STS_OK, STS_BAD)
SENDER, SENDER_PW = "transport-sender@example.test", "transport-sender-pw-1"
POLICY_MAP = "socketmap:inet:127.0.0.1:8461:postfix"
RESOLVER = "postfix-mta-sts-resolver"
TEST_CA = "/usr/local/share/ca-certificates/facteur-transport-test.crt"
DELIVERY_TIMEOUT = 90


def absolute(name: str) -> str:
    return name.rstrip(".") + "."


def outside_records(sink_ip: str, mx_cert: Path) -> list[tuple[str, str, str]]:
    """The outside domains: each has its MX at the sink. DANE_OK's TLSA matches the sink's key,
    DANE_BAD's is the digest of something else; both MTA-STS domains publish an `enforce` policy."""
    matching = tlsa.from_certificate(mx_cert.read_bytes())
    wrong = f"3 1 1 {hashlib.sha256(b'not the key of the outside MX').hexdigest()}"
    records = []
    for domain in OUTSIDE:
        records += [(absolute(domain), "MX", f"10 mx.{domain}."), (f"mx.{domain}.", "A", sink_ip)]
    records += [(f"_25._tcp.mx.{DANE_OK}.", "TLSA", matching), (f"_25._tcp.mx.{DANE_BAD}.", "TLSA", wrong)]
    for domain in (STS_OK, STS_BAD):
        records += [(f"_mta-sts.{domain}.", "TXT", '"v=STSv1; id=transport1"'),
                    (f"mta-sts.{domain}.", "A", sink_ip)]
    return records


def our_records(stack) -> list[dict]:
    cp = stack.facteur("dns", OURS, "--json")
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout)["records"]


@pytest.fixture(scope="module")
def internet(stack):
    """The simulated internet of this module, and the machine pointed at it; undone afterwards."""
    if not shutil.which(NSD):
        pytest.fail(f"{NSD} missing: ./tests/run installs Debian's nsd on the host")
    work = Path(tempfile.mkdtemp(prefix="facteur-transport-"))
    ca = TestCA(work)
    # The MX certificate names the good domains' MX hosts, not mx.enforce-bad: MTA-STS refuses it there.
    mx_cert, mx_key = ca.issue("mx", [f"mx.{DANE_OK}", f"mx.{DANE_BAD}", f"mx.{STS_OK}"])
    web_cert, web_key = ca.issue("mta-sts", [f"mta-sts.{STS_OK}", f"mta-sts.{STS_BAD}"])
    dns_server = AuthoritativeDNS(stack.container)
    sink = web = None
    try:
        sink = OutsideMTA(stack.container, tls=(mx_cert, mx_key))
        web = PolicyWeb(sink.netns, sink.ip, {STS_OK: policy_text("enforce", [f"mx.{STS_OK}"]),
                                              STS_BAD: policy_text("enforce", [f"mx.{STS_BAD}"])},
                        web_cert, web_key)
        ours = [(r["name"], r["type"], r["value"]) for r in our_records(stack)]
        zones = [absolute(SIGNED_ZONE), absolute(UNSIGNED_ZONE), absolute(OURS)]
        dns_server.serve(ours + outside_records(sink.ip, mx_cert), zones, signed=(absolute(SIGNED_ZONE),))
        stubs = [{"zone": SIGNED_ZONE, "servers": [dns_server.ip],
                  "trust_anchor": dns_server.trust_anchor(absolute(SIGNED_ZONE))},
                 {"zone": UNSIGNED_ZONE, "servers": [dns_server.ip]},
                 {"zone": OURS, "servers": [dns_server.ip]}]
        make_mailbox(stack, SENDER, SENDER_PW)
        with stub_zones(stack, stubs), trusted(stack, ca.cert_path.read_text()):
            yield SimpleNamespace(sink=sink, dns=dns_server)
    finally:
        forget_outside_mail(stack)
        for part in (web, sink):
            if part is not None:
                part.close()
        dns_server.close()
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def trusted(stack, pem: str, path: str = TEST_CA, restart_clients: bool = True) -> Iterator[None]:
    """The machine's system CA store trusts `pem` (Postfix and the MTA-STS resolver use that store)
    for the duration; afterwards the store is as before and, with `restart_clients`, the resolver
    (its cache of policies emptied) and Postfix's TLS clients start afresh."""
    stack.exec(["sh", "-c", 'cat > "$1"', "sh", path], input=pem)
    stack.exec(["update-ca-certificates"])
    if restart_clients:
        fresh_tls_clients(stack)
    try:
        yield
    finally:
        stack.exec(["rm", "-f", path])
        # --fresh: without it the removed certificate's links stay in /etc/ssl/certs (dangling).
        stack.exec(["update-ca-certificates", "--fresh"])
        if restart_clients:
            fresh_tls_clients(stack)


def fresh_tls_clients(stack) -> None:
    """Restart the resolver without its remembered policies and reload Postfix: the resolver loads
    the CA store when it starts, Postfix's smtp processes when they start."""
    stack.exec(["service", RESOLVER, "stop"])
    stack.exec(["sh", "-c", "rm -f /var/lib/mta-sts/cache.db /var/lib/mta-sts/cache.db-*"])
    stack.exec(["service", RESOLVER, "start"])
    wait_until(lambda: resolver_answers(stack), timeout=30, what="the MTA-STS resolver answering")
    stack.exec(["postfix", "reload"])


def resolver_answers(stack) -> bool:
    """Return True if the resolver answers Postfix (postmap exits 1 both for "no policy" and for a
    refused connection: only the warnings tell them apart)."""
    cp = stack.exec(["postmap", "-q", "probe.invalid", POLICY_MAP], check=False)
    return cp.returncode in (0, 1) and "lookup error" not in cp.stderr


# --- queue and log ----------------------------------------------------------------------------------

def queue(stack) -> list[dict]:
    """Return Postfix's queue as `postqueue -j` describes it, one dict per message."""
    out = stack.exec(["postqueue", "-j"]).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def forget_outside_mail(stack) -> None:
    """Delete every queued message to the outside domains of this module."""
    for entry in queue(stack):
        if any(r["address"].endswith(OUTSIDE) for r in entry["recipients"]):
            stack.exec(["postsuper", "-d", entry["queue_id"]], check=False)


def mail_log(stack) -> str:
    """Return Postfix's recent log (rsyslog's mail.log where it exists, else the journal)."""
    cp = stack.exec(["tail", "-n", "3000", "/var/log/mail.log"], check=False)
    if cp.returncode == 0 and cp.stdout:
        return cp.stdout
    return stack.exec(["journalctl", "--no-pager", "-q", "-n", "3000", "-t", "postfix/smtp"]).stdout


def send(stack, recipient: str) -> tuple[str, str]:
    """Submit a message from SENDER to `recipient` on port 587; return (queue id, Message-ID)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = SENDER, recipient, "Transport security probe"
    msg["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@example.test>"
    msg.set_content("Hello,\n\nthis message must travel over verified TLS or not at all.\n")
    with smtp_client(stack, 587) as smtp:
        smtp.login(SENDER, SENDER_PW)
        smtp.mail(SENDER)
        smtp.rcpt(recipient)
        code, reply = smtp.data(msg.as_bytes())
    assert code == 250, reply
    queue_id = re.search(rb"queued as ([0-9A-Za-z]+)", reply)
    assert queue_id, reply
    return queue_id.group(1).decode(), msg["Message-ID"]


def delivered(internet, message_id: str) -> dict:
    """Wait for the message at the outside MX and return how it arrived (see OutsideMTA.deliveries)."""
    marker = message_id.encode()
    return wait_until(lambda: next((d for d in internet.sink.deliveries() if marker in d["data"]), None),
                      timeout=DELIVERY_TIMEOUT, what=f"{message_id} at the outside MX")


def deferred(stack, queue_id: str) -> str:
    """Wait until message `queue_id` is in the deferred queue after a failed attempt; return the reason.

    Fails at once, with the message's log lines, if it leaves the queue instead (sent or bounced)."""
    def state() -> tuple[str, str] | None:
        entry = next((e for e in queue(stack) if e["queue_id"] == queue_id), None)
        if entry is None:
            return "gone", ""
        reasons = [r.get("delay_reason", "") for r in entry["recipients"]]
        return ("deferred", reasons[0]) if entry["queue_name"] == "deferred" and all(reasons) else None

    where, reason = wait_until(state, timeout=DELIVERY_TIMEOUT, what=f"{queue_id} deferred")
    lines = "\n".join(line for line in mail_log(stack).splitlines() if queue_id in line)
    assert where == "deferred", f"{queue_id} left the queue (sent or bounced):\n{lines}"
    return reason


def never_sent(internet, message_id: str) -> bool:
    return not any(message_id.encode() in d["data"] for d in internet.sink.deliveries())


# --- DANE ---------------------------------------------------------------------------------------------

def test_signed_zone_is_validated_by_the_local_resolver(stack, internet):
    """The TLSA records come with DNSSEC proof (the AD bit) from unbound: DANE can apply to them."""
    out = stack.exec([FACTEUR_PYTHON, "-c", VALIDATED_LOOKUP, f"_25._tcp.mx.{DANE_OK}.", "TLSA"]).stdout
    assert out.split() == ["validated", "3"], out
    out = stack.exec([FACTEUR_PYTHON, "-c", VALIDATED_LOOKUP, f"mx.{STS_OK}.", "A"]).stdout
    assert out.split()[0] == "insecure", out


# facteur's own virtualenv has dnspython: ask the system's resolver (unbound) with the DO bit and
# print whether the answer was validated, then the first field of the first record.
FACTEUR_PYTHON = "/opt/facteur/venv/bin/python"
VALIDATED_LOOKUP = """
import sys, dns.flags, dns.resolver
resolver = dns.resolver.Resolver()
resolver.use_edns(0, dns.flags.DO, 1232)
answer = resolver.resolve(sys.argv[1], sys.argv[2])
validated = answer.response.flags & dns.flags.AD
print("validated" if validated else "insecure", answer.rrset[0].to_text().split()[0])
"""


def test_mx_with_matching_tlsa_gets_mail_over_verified_tls(stack, internet):
    _queue_id, message_id = send(stack, f"partner@{DANE_OK}")
    arrival = delivered(internet, message_id)
    assert arrival["tls"] in ("TLSv1.2", "TLSv1.3"), arrival
    assert f"Verified TLS connection established to mx.{DANE_OK}[" in mail_log(stack)


def test_mx_with_wrong_tlsa_is_deferred_never_sent_in_clear(stack, internet):
    queue_id, message_id = send(stack, f"partner@{DANE_BAD}")
    reason = deferred(stack, queue_id)
    assert reason == "Server certificate not verified", reason
    assert never_sent(internet, message_id)
    # For the reason this test is about: the key, not the name or the issuer.
    assert (f"server certificate verification failed for mx.{DANE_BAD}[{internet.sink.ip}]:25: "
            "num=65:no matching DANE TLSA records") in mail_log(stack)
    stack.exec(["postsuper", "-d", queue_id])


# --- MTA-STS ------------------------------------------------------------------------------------------

def test_resolver_hands_postfix_the_enforce_policies(stack, internet):
    for domain in (STS_OK, STS_BAD):
        answer = stack.exec(["postmap", "-q", domain, POLICY_MAP]).stdout.strip()
        assert answer == f"secure match=mx.{domain} servername=hostname", answer
    # No policy (DANE domains, our own in `testing` mode): nothing, Postfix keeps its level (dane).
    for domain in (DANE_OK, OURS):
        cp = stack.exec(["postmap", "-q", domain, POLICY_MAP], check=False)
        assert cp.returncode == 1 and not cp.stdout.strip() and "lookup error" not in cp.stderr, \
            (domain, cp.stdout, cp.stderr)


def test_enforce_domain_with_trusted_certificate_gets_mail(stack, internet):
    """The positive control of the next test: same MX, same CA, the name in the certificate."""
    _queue_id, message_id = send(stack, f"partner@{STS_OK}")
    arrival = delivered(internet, message_id)
    assert arrival["tls"] in ("TLSv1.2", "TLSv1.3") and arrival["sni"] == f"mx.{STS_OK}", arrival
    assert f"Verified TLS connection established to mx.{STS_OK}[" in mail_log(stack)


def test_enforce_domain_whose_mx_certificate_is_wrong_is_deferred(stack, internet):
    queue_id, message_id = send(stack, f"partner@{STS_BAD}")
    reason = deferred(stack, queue_id)
    assert reason == "Server certificate not verified", reason
    assert never_sent(internet, message_id)
    # The CA is trusted (the twin above): the name is what fails.
    assert (f"server certificate verification failed for mx.{STS_BAD}[{internet.sink.ip}]:25: "
            "num=62:hostname mismatch") in mail_log(stack)
    stack.exec(["postsuper", "-d", queue_id])


def test_mail_waits_while_the_resolver_is_down_and_leaves_when_it_is_back(stack, internet):
    """A stopped resolver defers all outbound mail (Postfix cannot know the policy): nothing is lost,
    nothing goes out unprotected, `facteur status` names the culprit, and the mail leaves once it runs."""
    stack.exec(["service", RESOLVER, "stop"])
    try:
        queue_id, message_id = send(stack, f"partner@{STS_OK}")
        assert deferred(stack, queue_id) == "client TLS configuration problem"
        assert never_sent(internet, message_id)
        assert f'socketmap:inet:127.0.0.1:8461:postfix lookup error for "{STS_OK}"' in mail_log(stack)
        status = stack.facteur("status")
        assert any(RESOLVER in line and "not running" in line for line in status.stdout.splitlines()), \
            status.stdout
    finally:
        stack.exec(["service", RESOLVER, "start"])
    wait_until(lambda: stack.exec(["postmap", "-q", STS_OK, POLICY_MAP], check=False).returncode == 0,
               timeout=30, what="the MTA-STS resolver answering again")
    stack.exec(["postqueue", "-i", queue_id])
    arrival = delivered(internet, message_id)
    assert arrival["sni"] == f"mx.{STS_OK}", arrival


# --- our own policy, as a sending server fetches it ----------------------------------------------------

def test_our_policy_is_fetched_and_parsed_by_an_mta_sts_client(stack, internet):
    """postfix-mta-sts-resolver's own client (RFC 8461: TXT record through DNS, then the policy over
    HTTPS with a certificate that its system store trusts) reads our policy and its id as published."""
    published = {r["name"]: r["value"] for r in our_records(stack)}
    txt_id = re.fullmatch(r'"v=STSv1; id=([0-9A-Za-z]+)"', published[f"_mta-sts.{OURS}."]).group(1)
    local_ca = stack.read_file("/etc/facteur/tls/ca.crt")
    # Only this command needs it: the running daemons are left alone.
    with trusted(stack, local_ca, "/usr/local/share/ca-certificates/facteur-transport-local.crt",
                 restart_clients=False):
        out = stack.exec(["mta-sts-query", OURS]).stdout.strip()
    status, policy_id, policy = parse_query_output(out)
    assert status == "VALID", out
    assert policy_id == txt_id
    assert policy == {"version": "STSv1", "mode": "testing", "mx": [stack.hostname], "max_age": 604800}


def parse_query_output(text: str) -> tuple[str, str | None, dict | None]:
    """Given mta-sts-query's output (`(<STSFetchResult.VALID: 1>, ('ID', {...}))`), return
    (result name, policy id, policy)."""
    found = re.fullmatch(r"\(<STSFetchResult\.(\w+): \d+>, (.*)\)", text, re.DOTALL)
    assert found, text
    value = ast.literal_eval(found.group(2))
    return (found.group(1), *value) if value else (found.group(1), None, None)
