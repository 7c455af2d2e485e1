"""Monitoring: the `monitoring` settings, their role variables, the rendered configuration files and
the backup's node-exporter textfile."""

from __future__ import annotations

import re

import pytest
import yaml
from pydantic import ValidationError
from tests.unit.test_templates import render_role

from facteur import roles_vars
from facteur.backup import metrics
from facteur.backup.record import RunRecord
from facteur.config.schema import Settings


def test_defaults_and_alert_email_follows_admin_email():
    settings = Settings.model_validate({"domains": ["example.org"], "admin_email": "boss@example.org"})
    variables = roles_vars.build(settings, "/s")
    assert variables["monitoring__enabled"] is True
    assert variables["monitoring__alert_email"] == "boss@example.org"
    assert variables["monitoring__web"] == "proxy"
    assert variables["monitoring__disk_threshold_percent"] == 85
    assert variables["monitoring__probe_ca_file"] == "/etc/facteur/tls/ca.crt"
    assert variables["monitoring__webhook_url"] == ""
    assert variables["dovecot__metrics_port"] == 9900


def test_durations_are_normalised_for_prometheus():
    settings = Settings.model_validate({"monitoring": {"scrape_interval": "60", "group_interval": "120s",
                                                       "retention": "2w"}})
    assert settings.monitoring.scrape_interval == "1m"
    assert settings.monitoring.group_interval == "2m"
    assert settings.monitoring.retention == "14d"


@pytest.mark.parametrize("section, fragment", [
    ({"scrape_interval": "soon"}, "is not a duration"),
    ({"disk_threshold_percent": 100}, "disk_threshold_percent"),
    ({"web": "public"}, "web"),
    ({"webhook_url": "ftp://x"}, "is not an http(s) URL"),
    ({"alert_email": "not an address"}, "is not an email address"),
    ({"unknown": 1}, "unknown"),
])
def test_bad_monitoring_settings_are_refused(section, fragment):
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        Settings.model_validate({"monitoring": section})


def test_disabled_monitoring_has_no_dovecot_listener():
    settings = Settings.model_validate({"monitoring": {"enabled": False}})
    assert roles_vars.build(settings, "/s")["dovecot__metrics_port"] == 0
    conf = render_role("dovecot", "2.4", settings=settings)["etc/dovecot/2.4/dovecot.conf.j2"]
    assert "service stats" not in conf


@pytest.mark.parametrize("template_set, key", [("2.3", "address"), ("2.4", "listen")])
def test_dovecot_stats_listener_on_loopback(template_set, key):
    conf = render_role("dovecot", template_set)[f"etc/dovecot/{template_set}/dovecot.conf.j2"]
    stats = conf.split("service stats {", 1)[1].split("\n}\n", 1)[0]
    assert "port = 9900" in stats and f"{key} = 127.0.0.1" in stats
    assert "metric auth_failures {" in conf


def test_everything_listens_on_loopback():
    rendered = render_role("monitoring", "2.4")
    for name, text in rendered.items():
        if name.startswith("etc/default/"):
            assert re.search(r"--web\.listen-address=127\.0\.0\.1:\d+", text), name
    assert "--cluster.listen-address= " in rendered["etc/default/prometheus-alertmanager.j2"]


def test_prometheus_config_and_rules_follow_settings():
    settings = Settings.model_validate({"monitoring": {"scrape_interval": "15s", "disk_threshold_percent": 90,
                                                       "backup_max_age_hours": 30, "rspamd": True}})
    rendered = render_role("monitoring", "2.4", settings=settings)
    config = yaml.safe_load(rendered["etc/prometheus/prometheus.yml.j2"])
    assert config["global"]["scrape_interval"] == "15s"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"prometheus", "alertmanager", "node", "postfix", "mysqld", "blackbox", "dovecot", "rspamd",
            "probe"} == set(jobs)
    assert jobs["prometheus"]["metrics_path"] == "/monitoring/metrics"
    rules = yaml.safe_load(rendered["etc/prometheus/rules/facteur.yml.j2"])
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert "> 90 and" in alerts["DiskAlmostFull"]["expr"]
    assert str(30 * 3600) in alerts["BackupTooOld"]["expr"]
    for rule in alerts.values():
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
    default = render_role("monitoring", "2.4")["etc/prometheus/prometheus.yml.j2"]
    assert "rspamd" not in default


def test_localhost_web_has_no_route_prefix():
    settings = Settings.model_validate({"monitoring": {"web": "localhost"}})
    args = render_role("monitoring", "2.4", settings=settings)["etc/default/prometheus.j2"]
    assert "--web.external-url=http://127.0.0.1:9090/ --web.route-prefix=/ " in args


def test_alert_mail_goes_through_local_postfix_with_optional_webhook():
    plain = yaml.safe_load(render_role("monitoring", "2.4")["etc/prometheus/alertmanager.yml.j2"])
    assert plain["global"]["smtp_smarthost"] == "127.0.0.1:25"
    receiver = plain["receivers"][0]
    assert receiver["email_configs"][0]["to"] == "postmaster@example.test"
    assert receiver["email_configs"][0]["send_resolved"] is True
    assert "webhook_configs" not in receiver
    settings = Settings.model_validate({"monitoring": {"webhook_url": "https://hooks.example.org/am"}})
    rendered = render_role("monitoring", "2.4", settings=settings)
    hooked = yaml.safe_load(rendered["etc/prometheus/alertmanager.yml.j2"])
    assert hooked["receivers"][0]["webhook_configs"][0]["url"] == "https://hooks.example.org/am"


def test_probes_trust_system_cas_with_provided_certificates():
    tls = {"mode": "files", "cert_file": "/c.pem", "key_file": "/k.pem"}
    settings = Settings.model_validate({"tls": tls})
    blackbox = "etc/prometheus/blackbox.yml.j2"
    assert "ca_file" not in render_role("monitoring", "2.4", settings=settings)[blackbox]
    assert "ca_file: /etc/facteur/tls/ca.crt" in render_role("monitoring", "2.4")[blackbox]


def _record(ok: bool, finished: str = "2026-01-02T03:04:05+00:00") -> RunRecord:
    return RunRecord(finished=finished, ok=ok, seconds=12.5)


def test_backup_textfile_after_success_and_failure(tmp_path):
    path = tmp_path / "facteur_backup.prom"
    assert metrics.write(_record(True), path)
    text = path.read_text()
    assert "facteur_backup_last_run_ok 1\n" in text
    assert "facteur_backup_last_success_timestamp_seconds 1767323045\n" in text
    # A later failure keeps the last success.
    assert metrics.write(_record(False, "2026-01-03T03:04:05+00:00"), path)
    text = path.read_text()
    assert "facteur_backup_last_run_ok 0\n" in text
    assert "facteur_backup_last_run_timestamp_seconds 1767409445\n" in text
    assert "facteur_backup_last_success_timestamp_seconds 1767323045\n" in text
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_backup_textfile_without_any_success_and_without_monitoring(tmp_path):
    text = metrics.render(_record(False), None)
    assert "facteur_backup_last_success_timestamp_seconds" not in text
    assert metrics.write(_record(True), tmp_path / "absent" / "x.prom") is False
