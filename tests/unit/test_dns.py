"""`facteur dns`: the records a domain needs, their zone-file form, and the rules of --check."""

from __future__ import annotations

import json

import pytest
from tests.unit.test_cli_errors import facteur

from facteur.dns.check import check_record, check_records, txt_text
from facteur.dns.records import DkimKey, Record, domain_records, quote_txt, reverse_name
from facteur.dns.zone import zone_lines

DKIM = DkimKey("s2026", "v=DKIM1; k=rsa; p=" + "A" * 392)


def records(dkim=DKIM, addresses=("198.51.100.7", "2001:db8::7")):
    return domain_records("Example.ORG", "mail.example.org", list(addresses), "postmaster@example.org", dkim)


def find(items, name, kind):
    return [r for r in items if r.name == name and r.type == kind]


def test_required_records_come_first_and_name_the_mail_server():
    items = records()
    levels = [r.level for r in items]
    assert levels == sorted(levels, key=lambda level: level != "required")
    assert find(items, "example.org.", "MX")[0].value == "10 mail.example.org."
    assert find(items, "mail.example.org.", "A")[0].value == "198.51.100.7"
    assert find(items, "mail.example.org.", "AAAA")[0].value == "2001:db8::7"
    assert find(items, "7.100.51.198.in-addr.arpa.", "PTR")[0].value == "mail.example.org."
    assert all(r.why for r in items)


def test_spf_dmarc_and_dkim_records():
    items = records()
    assert txt_text(find(items, "example.org.", "TXT")[0].value) == "v=spf1 mx -all"
    dmarc = txt_text(find(items, "_dmarc.example.org.", "TXT")[0].value)
    assert "p=quarantine" in dmarc and "rua=mailto:postmaster@example.org" in dmarc
    dkim = find(items, "s2026._domainkey.example.org.", "TXT")[0]
    assert dkim.level == "required" and txt_text(dkim.value) == DKIM.txt


def test_no_dkim_record_without_a_key():
    assert not [r for r in records(dkim=None) if "_domainkey" in r.name]


def test_client_autoconfiguration_records():
    items = records()
    srv = {r.name: r.value for r in items if r.type == "SRV"}
    assert srv["_submission._tcp.example.org."] == "0 1 587 mail.example.org."
    assert srv["_submissions._tcp.example.org."] == "0 1 465 mail.example.org."
    assert srv["_imaps._tcp.example.org."] == "0 1 993 mail.example.org."
    assert srv["_pop3s._tcp.example.org."] == "0 1 995 mail.example.org."
    assert srv["_caldavs._tcp.example.org."] == "0 1 443 mail.example.org."
    assert srv["_carddavs._tcp.example.org."] == "0 1 443 mail.example.org."
    assert find(items, "autoconfig.example.org.", "CNAME")[0].value == "mail.example.org."
    assert find(items, "autodiscover.example.org.", "CNAME")[0].value == "mail.example.org."


def test_long_txt_is_split_into_255_character_strings():
    text = "x" * 600
    quoted = quote_txt(text)
    assert quoted.count('"') == 6 and txt_text(quoted) == text
    assert quote_txt('a"b') == '"a\\"b"' and txt_text(quote_txt('a"b')) == 'a"b'


def test_reverse_names():
    assert reverse_name("192.0.2.1") == "1.2.0.192.in-addr.arpa."
    assert reverse_name("2001:db8::1").endswith(".8.b.d.0.1.0.0.2.ip6.arpa.")


def test_zone_lines_have_a_reason_before_each_record():
    lines = zone_lines(records())
    assert lines[0].startswith("; required: ")
    assert lines[1].split()[:4] == ["example.org.", "3600", "IN", "MX"]
    assert len(lines) == 2 * len(records())


def published(table):
    return lambda name, kind: table.get((name, kind), [])


def test_check_ok_missing_and_different():
    mx = Record("example.org.", "MX", "10 mail.example.org.", "required", "why")
    assert check_record(mx, published({("example.org.", "MX"): ["10 MAIL.example.org."]})).state == "ok"
    assert check_record(mx, published({})).state == "missing"
    found = check_record(mx, published({("example.org.", "MX"): ["10 other.example.net."]}))
    assert found.state == "different" and found.fails and found.published == ("10 other.example.net.",)


@pytest.mark.parametrize(("text", "state"), [
    ("v=spf1 mx -all", "ok"),
    ("v=spf1 mx include:_spf.example.net ~all", "ok"),
    ("v=spf1 a -all", "different"),
    ("v=spf1 mx +all", "different"),
])
def test_spf_check_accepts_extended_policies(text, state):
    spf = Record("example.org.", "TXT", quote_txt("v=spf1 mx -all"), "required", "why")
    table = {("example.org.", "TXT"): ["google-site-verification=abc", text]}
    assert check_record(spf, published(table)).state == state


def test_spf_check_of_the_helo_name_wants_its_a_mechanism():
    spf = Record("mail.example.org.", "TXT", quote_txt("v=spf1 a -all"), "recommended", "why")
    assert check_record(spf, published({(spf.name, "TXT"): ["v=spf1 a -all"]})).state == "ok"
    assert check_record(spf, published({(spf.name, "TXT"): ["v=spf1 mx -all"]})).state == "different"


@pytest.mark.parametrize(("policy", "state"), [("quarantine", "ok"), ("reject", "ok"), ("none", "different")])
def test_dmarc_check_wants_an_enforcing_policy(policy, state):
    dmarc = Record("_dmarc.example.org.", "TXT", quote_txt("v=DMARC1; p=quarantine"), "required", "why")
    table = {("_dmarc.example.org.", "TXT"): [f"v=DMARC1; p={policy}; rua=mailto:x@example.org"]}
    assert check_record(dmarc, published(table)).state == state


def test_dkim_check_compares_the_key():
    dkim = Record("s._domainkey.example.org.", "TXT", quote_txt("v=DKIM1; k=rsa; p=KEY1"), "required", "w")
    assert check_record(dkim, published({(dkim.name, "TXT"): ["v=DKIM1; k=rsa; p=KEY1"]})).state == "ok"
    assert check_record(dkim, published({(dkim.name, "TXT"): ["v=DKIM1; k=rsa; p=OLD"]})).state == "different"
    assert check_record(dkim, published({(dkim.name, "TXT"): ["v=spf1 -all"]})).state == "missing"


def test_recommended_records_never_fail_the_check():
    findings = check_records(records(), published({}))
    failing = {f.record.level for f in findings if f.fails}
    assert failing == {"required"}
    assert not [f for f in findings if f.record.level == "recommended" and f.fails]


def test_cli_prints_json_for_a_configured_domain(tmp_path):
    config = tmp_path / "facteur.yml"
    config.write_text("domains: [example.org]\nhostname: mail.example.org\n")
    cp = facteur("dns", "example.org", "--json", "--address", "198.51.100.7", config=config)
    assert cp.returncode == 0, cp.stderr
    data = json.loads(cp.stdout)
    assert data["domain"] == "example.org"
    assert {"name": "example.org.", "type": "MX", "value": "10 mail.example.org.", "level": "required",
            "why": "tells other servers to deliver this domain's mail here"} in data["records"]


def test_cli_refuses_a_bad_domain_name_in_one_line(tmp_path):
    cp = facteur("dns", "not a domain", config=tmp_path / "absent.yml")
    assert cp.returncode != 0 and "Traceback" not in cp.stderr
    assert len(cp.stderr.strip().splitlines()) == 1 and cp.stderr.startswith("facteur: error:")


def test_mta_sts_policy_and_its_id():
    from facteur.dns import mtasts

    testing = mtasts.policy_text("mail.example.org", "testing")
    assert testing == "version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 604800\r\n"
    enforce = mtasts.policy_text("mail.example.org", "enforce")
    assert mtasts.policy_id(testing) != mtasts.policy_id(enforce)
    assert mtasts.policy_id(testing).isalnum() and len(mtasts.policy_id(testing)) <= 32


def test_transport_records_mta_sts_tls_rpt_and_tlsa():
    items = domain_records("example.org", "mail.example.org", ["198.51.100.7"], "postmaster@example.org",
                           None, mta_sts_id="abc123", tlsa=["3 1 1 " + "ab" * 32])
    assert txt_text(find(items, "_mta-sts.example.org.", "TXT")[0].value) == "v=STSv1; id=abc123"
    assert find(items, "mta-sts.example.org.", "CNAME")[0].value == "mail.example.org."
    assert txt_text(find(items, "_smtp._tls.example.org.", "TXT")[0].value) == \
        "v=TLSRPTv1; rua=mailto:postmaster@example.org"
    assert find(items, "_25._tcp.mail.example.org.", "TLSA")[0].value == "3 1 1 " + "ab" * 32
    assert not find(records(), "_mta-sts.example.org.", "TXT")  # no policy, no record


def test_tlsa_of_a_certificate_and_of_the_next_key(tmp_path):
    import datetime
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from facteur.dns import tlsa

    def key_pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    key, next_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.example.org")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "next.key").write_bytes(key_pem(next_key))
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    found = tlsa.associations(tmp_path / "server.crt", tmp_path / "next.key")
    assert found[0] == f"3 1 1 {hashlib.sha256(spki).hexdigest()}"
    assert len(found) == 2 and found[1] != found[0] and found[1].startswith("3 1 1 ")
    assert tlsa.associations(tmp_path / "absent.crt") == []
