"""Outbound transport security: other domains' MTA-STS policies (postfix-mta-sts-resolver) next to
DANE, and DNSSEC trust anchors for stub zones. Schema, role variables and rendered files."""

from __future__ import annotations

import re

import pytest
import yaml
from tests.unit.test_templates import render_role

from facteur import roles_vars
from facteur.checks import system
from facteur.config.schema import Settings
from facteur.errors import FacteurError

DS = "DS 2371 13 2 7D0B4AF2E2D5A5F4C3B1F0E9D8C7B6A5F4E3D2C1B0A9F8E7D6C5B4A3F2E1D0C9"
MAP = "socketmap:inet:127.0.0.1:8461:postfix"


def settings_with(**network) -> Settings:
    return Settings.model_validate({"network": network})


# --- outbound MTA-STS ------------------------------------------------------------------------------

def test_outbound_mta_sts_is_on_by_default_next_to_dane():
    variables = roles_vars.build(Settings())
    assert variables["mta_sts_resolver__enabled"] and variables["postfix__dane"]
    main_cf = render_role("postfix", "2.4")["etc/postfix/main.cf.j2"]
    # DANE stays the level for every destination the resolver has no policy for.
    assert "\nsmtp_tls_security_level = dane\n" in main_cf
    assert f"\nsmtp_tls_policy_maps = {MAP}\n" in main_cf
    # Postfix verifies MTA-STS hosts against the system's CAs.
    assert "\nsmtp_tls_CApath = /etc/ssl/certs\n" in main_cf


def test_outbound_mta_sts_can_be_switched_off():
    settings = settings_with(outbound_mta_sts=False)
    variables = roles_vars.build(settings)
    assert not variables["mta_sts_resolver__enabled"] and variables["monitoring__extra_probes"] == []
    main_cf = render_role("postfix", "2.4", settings=settings)["etc/postfix/main.cf.j2"]
    assert "smtp_tls_policy_maps" not in main_cf and "smtp_tls_security_level = dane" in main_cf


def test_outbound_mta_sts_works_without_the_local_resolver_too():
    settings = settings_with(resolver="system")
    main_cf = render_role("postfix", "2.4", settings=settings)["etc/postfix/main.cf.j2"]
    assert "smtp_tls_security_level = may" in main_cf and f"smtp_tls_policy_maps = {MAP}" in main_cf


@pytest.mark.parametrize("service_mgr", ["systemd", "sysvinit"])
def test_resolver_config_listens_where_postfix_asks(service_mgr):
    rendered = render_role("mta_sts_resolver", "2.4", service_mgr)
    config = yaml.safe_load(rendered["etc/mta-sts-daemon.yml.j2"])
    assert f"socketmap:inet:{config['host']}:{config['port']}:postfix" == MAP
    assert config["cache"] == {"type": "sqlite", "options": {"filename": "/var/lib/mta-sts/cache.db"}}
    assert config["default_zone"]["strict_testing"] is False
    assert config["default_zone"]["require_sni"] is True
    assert config["proactive_policy_fetching"]["enabled"] is True
    # Debian's init script (no systemd) sources this; the same config file, plus a log.
    args = rendered["etc/default/mta-sts-daemon.j2"]
    assert 'DAEMON_ARGS="--config /etc/mta-sts-daemon.yml --logfile /var/log/mta-sts-daemon.log"' in args


def test_monitoring_probes_the_resolver_only_when_it_runs():
    config = yaml.safe_load(render_role("monitoring", "2.4")["etc/prometheus/prometheus.yml.j2"])
    probes = next(job for job in config["scrape_configs"] if job["job_name"] == "probe")["static_configs"]
    resolver = [p for p in probes if p["targets"] == ["127.0.0.1:8461"]]
    assert resolver[0]["labels"] == {"module": "tcp_connect", "service": "postfix-mta-sts-resolver"}
    modules = yaml.safe_load(render_role("monitoring", "2.4")["etc/prometheus/blackbox.yml.j2"])["modules"]
    assert modules["tcp_connect"]["prober"] == "tcp"
    off = render_role("monitoring", "2.4", settings=settings_with(outbound_mta_sts=False))
    assert "8461" not in off["etc/prometheus/prometheus.yml.j2"]


def test_status_checks_the_resolver_when_postfix_depends_on_it(tmp_path):
    jails, main_cf = tmp_path / "jails.conf", tmp_path / "main.cf"
    assert system.MTA_STS_RESOLVER not in system.services(jails, main_cf)
    main_cf.write_text(render_role("postfix", "2.4")["etc/postfix/main.cf.j2"])
    assert system.services(jails, main_cf) == (*system.SERVICES, "postfix-mta-sts-resolver")
    main_cf.write_text(render_role("postfix", "2.4", settings=settings_with(outbound_mta_sts=False))[
        "etc/postfix/main.cf.j2"])
    assert system.MTA_STS_RESOLVER not in system.services(jails, main_cf)


# --- DNSSEC trust anchors of stub zones ------------------------------------------------------------

@pytest.mark.parametrize("given", [DS, f"corp.example. {DS}", f"Corp.Example. 3600 IN {DS}"])
def test_trust_anchor_is_normalised_to_one_record_of_the_zone(given):
    zone = settings_with(dns_stub_zones=[{"zone": "corp.example", "servers": ["192.0.2.53"],
                                          "trust_anchor": given}]).network.dns_stub_zones[0]
    digest = DS.split()[-1]
    assert zone.trust_anchor == "corp.example. " + DS.replace(digest, digest.lower())


def test_dnskey_trust_anchor_is_accepted():
    key = ("DNSKEY 257 3 13 "
           "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==")
    zone = settings_with(dns_stub_zones=[{"zone": "corp.example", "servers": ["192.0.2.53"],
                                          "trust_anchor": key}]).network.dns_stub_zones[0]
    assert zone.trust_anchor.startswith("corp.example. DNSKEY 257 3 13 ")


@pytest.mark.parametrize(("anchor", "message"), [
    (f"other.example. {DS}", "the record is for other.example., not for the zone corp.example."),
    ("A 192.0.2.1", "must be a DS or DNSKEY record, not A"),
    ("DS 2371 13", "not a valid DS record"),
    ("", "must be a DS or DNSKEY record"),
])
def test_a_wrong_trust_anchor_is_a_one_line_error_naming_its_path(tmp_path, anchor, message):
    from facteur.config.load import load_settings

    path = tmp_path / "facteur.yml"
    path.write_text("network:\n  dns_stub_zones:\n    - zone: corp.example\n      servers: [192.0.2.53]\n"
                    f"      trust_anchor: '{anchor}'\n")
    with pytest.raises(FacteurError) as error:
        load_settings(path)
    text = str(error.value)
    assert "\n" not in text and "network.dns_stub_zones" in text and message in text, text


def test_stub_zone_with_trust_anchor_is_validated_and_one_without_is_not():
    settings = settings_with(dns_stub_zones=[
        {"zone": "signed.example", "servers": ["192.0.2.53"], "trust_anchor": DS},
        {"zone": "plain.example", "servers": ["192.0.2.54"]}])
    rendered = render_role("unbound", "2.4", settings=settings)
    stubs = rendered["etc/unbound/unbound.conf.d/facteur-stub-zones.conf.j2"]
    signed, plain = stubs.split("server:\n")[1:]
    digest = DS.split()[-1]
    assert f'    trust-anchor: "signed.example. {DS.replace(digest, digest.lower())}"\n' in signed
    assert "domain-insecure" not in signed and 'local-zone: "signed.example." transparent' in signed
    assert re.search(r'stub-zone:\n    name: "signed.example"\n    stub-addr: 192.0.2.53\n', signed)
    assert 'domain-insecure: "plain.example"' in plain and "trust-anchor" not in plain
