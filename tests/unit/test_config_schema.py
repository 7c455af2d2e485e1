"""The configuration schema: defaults, error messages that name the key, sample and reference generation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from facteur.config.load import load_settings, parse_settings
from facteur.config.reference import render_reference
from facteur.config.sample import render_sample
from facteur.config.schema import Settings
from facteur.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, "f.yml")
    assert caught.value.exit_code == 2
    message = caught.value.message
    assert "\n" not in message
    return message


def test_defaults_are_the_demo():
    settings = Settings()
    assert settings.hostname == "mail.example.test"
    assert settings.domains == ["example.test"]
    assert settings.alias_domains == []
    assert settings.admin_email == "postmaster@example.test"
    assert settings.locale == "en"
    assert settings.timezone == "UTC"
    assert settings.tls.mode == "selfsigned"
    assert (settings.limits.max_list_members, settings.limits.max_recipients) == (20, 50)
    assert (settings.limits.max_attachment_mb, settings.limits.default_quota_mb) == (50, 0)
    assert settings.network.mynetworks == ["127.0.0.0/8", "[::1]/128"]


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "---\n"])
def test_empty_file_gives_defaults(text):
    assert parse_settings(text) == Settings()


def test_absent_default_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTEUR_CONFIG", str(tmp_path / "absent.yml"))
    assert load_settings() == Settings()


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "absent.yml")


def test_admin_email_follows_the_first_domain():
    settings = parse_settings("domains: [Example.ORG, example.com]\n")
    assert settings.domains == ["example.org", "example.com"]
    assert settings.admin_email == "postmaster@example.org"


def test_unknown_key_names_its_path():
    assert error_of("limits:\n  max_list_member: 3\n") == (
        "f.yml: at 'limits.max_list_member': unknown key (see `facteur config sample` for the valid ones)"
    )
    assert "at 'colour'" in error_of("colour: blue\n")


def test_out_of_range_value_names_its_path():
    assert error_of("limits:\n  max_list_members: 2000\n") == (
        "f.yml: at 'limits.max_list_members': Input should be less than or equal to 1000"
    )


def test_several_errors_report_the_first_and_a_count():
    message = error_of("limits: {max_list_members: 0, max_recipients: 5}\n")
    assert message.startswith("f.yml: at 'limits.max_list_members': ")
    assert message.endswith("(and 1 more)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "limits: {max_recipients: 19}\n",
            "at 'limits.max_recipients': Input should be greater than or equal to 20",
        ),
        ("limits: {max_attachment_mb: 501}\n", "at 'limits.max_attachment_mb'"),
        ("limits: {default_quota_mb: -1}\n", "at 'limits.default_quota_mb'"),
        ("hostname: mail\n", "at 'hostname': 'mail' is not a valid domain name"),
        ("domains: []\n", "at 'domains'"),
        ("domains: [a.org, A.org]\n", "listed more than once: a.org"),
        ("domains: [a.org, 'bad domain.org']\n", "at 'domains'"),
        ("locale: de\n", "at 'locale': Input should be 'en' or 'fr'"),
        ("timezone: 'Europe/../etc'\n", "at 'timezone'"),
        ("admin_email: boss@elsewhere.org\n", "not in a hosted domain"),
        ("admin_email: not-an-address\n", "at 'admin_email'"),
        ("tls: {mode: ftp}\n", "at 'tls.mode': Input should be 'selfsigned', 'files' or 'acme'"),
        ("tls: {mode: acme, acme_directory: 'http://ca.example/dir'}\n",
         "at 'tls.acme_directory': 'http://ca.example/dir' is not an https:// URL"),
        ("tls: {mode: acme, acme_email: nobody}\n", "at 'tls.acme_email': 'nobody' is not an email address"),
        ("tls: {mode: acme, acme_ca_bundle: ca.pem}\n", "at 'tls.acme_ca_bundle': must be an absolute path"),
        ("tls: {acme_email: a@example.test}\n", "at 'tls': acme_email only applies to mode 'acme'"),
        ("tls: {mode: files, cert_file: /c, key_file: /k,\n"
         "      acme_directory: 'https://a/d', acme_ca_bundle: /b}\n",
         "acme_directory and acme_ca_bundle only apply to mode 'acme' (mode is 'files')"),
        ("tls: {mode: files}\n", "at 'tls': mode 'files' needs both cert_file and key_file"),
        (
            "tls: {mode: files, cert_file: a.pem, key_file: /k.pem}\n",
            "at 'tls.cert_file': must be an absolute path",
        ),
        ("tls: {cert_file: /a.pem}\n", "only apply to mode 'files'"),
        ("network: {mynetworks: ['::1/128']}\n", "write IPv6 networks in brackets"),
        ("network: {mynetworks: [10.0.0.0/33]}\n", "at 'network.mynetworks'"),
        ("alias_domains: [{alias: b.test, target: nowhere.test}]\n", "is not in domains"),
        ("alias_domains: [{alias: example.test, target: example.test}]\n", "is also in domains"),
        ("alias_domains: [{alias: b.test}]\n", "at 'alias_domains[0].target'"),
    ],
)
def test_bad_values(text, expected):
    assert expected in error_of(text)


def test_acme_mode_defaults_to_lets_encrypt_without_contact():
    tls = parse_settings("tls: {mode: acme}\n").tls
    assert (tls.mode, tls.acme_server, tls.acme_email, tls.acme_ca_bundle) == (
        "acme", "https://acme-v02.api.letsencrypt.org/directory", None, None)


def test_acme_settings_are_normalised():
    tls = parse_settings(
        "tls: {mode: acme, acme_directory: 'https://198.18.10.60:14000/dir', "
        "acme_email: Hostmaster@Example.TEST, acme_ca_bundle: /etc/facteur/acme-ca.pem}\n").tls
    assert tls.acme_server == "https://198.18.10.60:14000/dir"
    assert tls.acme_email == "hostmaster@example.test"
    assert tls.acme_ca_bundle == "/etc/facteur/acme-ca.pem"


def test_valid_full_config():
    settings = parse_settings(
        """
hostname: MX.Example.org.
domains: [example.org, example.com]
alias_domains: [{alias: example.net, target: example.org}]
admin_email: Boss@Example.org
locale: fr
timezone: Europe/Paris
tls: {mode: files, cert_file: /etc/ssl/a.pem, key_file: /etc/ssl/a.key}
limits: {max_list_members: 1000, max_recipients: 20, max_attachment_mb: 25, default_quota_mb: 2048}
network: {mynetworks: [127.0.0.0/8, '[::1]/128', '[2001:db8::1]/64', 192.0.2.7]}
"""
    )
    assert settings.hostname == "mx.example.org"
    assert settings.admin_email == "boss@example.org"
    assert settings.network.mynetworks == ["127.0.0.0/8", "[::1]/128", "[2001:db8::]/64", "192.0.2.7/32"]


def test_yaml_syntax_error_is_one_line():
    message = error_of("domains: [example.org\nlocale: en\n")
    assert message.startswith("f.yml: YAML syntax error at line ")


def test_duplicate_key_is_an_error():
    assert "given twice" in error_of("locale: en\nlocale: fr\n")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "42\n"])
def test_non_mapping_document(text):
    assert "must be a mapping" in error_of(text)


def test_every_field_has_description_and_example():
    from facteur.config.fields import walk

    keys = list(walk())
    assert {key.path for key in keys} >= {"hostname", "limits.max_recipients", "network.mynetworks"}
    for key in keys:
        assert key.description, key.path
        assert key.example is not None, key.path


def test_sample_loads_back_to_the_defaults():
    text = render_sample()
    assert parse_settings(text) == Settings()
    assert yaml.safe_load(text)["limits"]["max_recipients"] == 50


def test_sample_comments_every_key():
    lines = render_sample().splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            assert lines[index - 1].strip().startswith("# example: "), line


def test_examples_are_valid_values():
    """Every example, put in place of the default, is accepted by the schema."""
    from facteur.config.fields import walk

    for key in walk():
        if key.section is not None or key.path.startswith("tls."):
            continue
        head, _, tail = key.path.rpartition(".")
        document = {head: {tail: key.example}} if head else {key.path: key.example}
        if key.path == "admin_email":
            document["domains"] = ["example.org"]
        if key.path.startswith("alias_domains"):
            document["domains"] = ["example.org"]
        Settings.model_validate(document)


def test_reference_doc_is_up_to_date():
    committed = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render_reference(), (
        "docs/configuration.md is stale: run `python -m facteur.config.reference > docs/configuration.md`"
    )


def test_client_blocklists_take_postfix_syntax_and_refuse_anything_else():
    ok = Settings.model_validate({"filter": {"client_blocklists": ["Zen.Spamhaus.org=127.0.0.[2..11]"]}})
    assert ok.filter.client_blocklists == ["zen.spamhaus.org=127.0.0.[2..11]"]
    with pytest.raises(ConfigError, match="not a blocklist zone") as caught:
        parse_settings("filter:\n  client_blocklists: ['zen spamhaus']\n")
    assert "\n" not in str(caught.value)
