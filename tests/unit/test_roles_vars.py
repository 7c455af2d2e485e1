"""The Settings -> role variables mapping."""

from __future__ import annotations

import base64
import os

from facteur import roles_vars
from facteur.config.schema import Settings

MIB = 1024 * 1024

# The table in docs/development.md.
DOCUMENTED = {
    "facteur__hostname", "facteur__domains", "facteur__alias_domains", "facteur__admin_email",
    "facteur__locale", "facteur__secrets_dir", "tls__mode", "tls__cert_file", "tls__key_file",
    "tls__names", "postfix__message_size_limit", "postfix__max_recipients", "postfix__mynetworks",
    "postfixadmin__alias_goto_limit", "dovecot__default_quota_bytes", "web__max_upload_mb",
    "nginx__mta_sts_policy", "unbound__enabled", "unbound__forwarders", "unbound__stub_zones",
    "postfix__dane", "rspamd__local_resolver", "postfix__client_blocklists",
    "backup__schedule", "backup__time",
    "web__max_attachment_mb", "roundcube__max_message_size", "facteur__password_min_length",
    "fail2ban__enabled", "fail2ban__max_retry", "fail2ban__find_time", "fail2ban__ban_time",
    "fail2ban__ignore",
    "filter__enabled", "filter__on_failure", "filter__reject_score", "filter__junk_score",
    "filter__antivirus", "filter__max_scan_bytes", "filter__dkim_selector", "filter__ratelimit_per_hour",
    "filter__ratelimit_users",
    "filter__network_lookups", "filter__dns_timeout_s",
    # monitoring (docs/monitoring.md)
    "monitoring__enabled", "monitoring__scrape_interval", "monitoring__evaluation_interval",
    "monitoring__alert_after", "monitoring__group_wait", "monitoring__group_interval",
    "monitoring__repeat_interval", "monitoring__retention", "monitoring__alert_email",
    "monitoring__webhook_url", "monitoring__web", "monitoring__disk_threshold_percent",
    "monitoring__certificate_days", "monitoring__backup_max_age_hours", "monitoring__clamav_max_age_days",
    "monitoring__rspamd", "monitoring__probe_ca_file", "dovecot__metrics_port",
}
# Calendars and contacts (SOGo), in the same table.
DOCUMENTED |= {
    "sogo__enabled", "sogo__workers", "sogo__worker_memory_mb", "sogo__activesync", "sogo__timezone",
    "sogo__mail_domain", "memcached__memory_mb", "nginx__sogo", "nginx__sogo_activesync",
    "autoconfig__activesync_url", "autoconfig__dav_path",
}
# Outbound MTA-STS (postfix-mta-sts-resolver), in the same table.
DOCUMENTED |= {
    "mta_sts_resolver__enabled", "mta_sts_resolver__port", "postfix__tls_policy_maps",
    "monitoring__extra_probes",
}

# ACME (tls.mode acme): the acme role's paths and schedule, the challenge directory nginx serves.
DOCUMENTED |= {
    "facteur__config_file", "acme__enabled", "acme__config_dir", "acme__work_dir", "acme__logs_dir",
    "acme__deploy_hook", "acme__state_dir", "acme__textfile", "acme__webroot", "nginx__acme_root",
    "acme__cron_minute", "acme__cron_hour",
}


def test_exactly_the_documented_variables(tmp_path):
    variables = roles_vars.build(Settings(), tmp_path)
    assert set(variables) == DOCUMENTED
    assert variables["facteur__secrets_dir"] == str(tmp_path)


def test_defaults(monkeypatch):
    monkeypatch.delenv("FACTEUR_SECRETS_DIR", raising=False)
    variables = roles_vars.build(Settings())
    assert variables["facteur__secrets_dir"] == "/etc/facteur/secrets"
    assert variables["postfix__max_recipients"] == 50
    assert variables["postfixadmin__alias_goto_limit"] == 20
    assert variables["dovecot__default_quota_bytes"] == 0
    assert variables["tls__cert_file"] == "/etc/facteur/tls/server.crt"
    assert variables["tls__key_file"] == "/etc/facteur/tls/server.key"


def test_encoded_size_matches_real_mime_base64():
    data = os.urandom(100_003)
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")  # 76-character lines, CRLF
    assert roles_vars.encoded_size(len(data)) == len(encoded)


def test_message_size_fits_the_largest_attachment():
    limit = roles_vars.build(Settings())["postfix__message_size_limit"]
    # A 50 MiB attachment after base64 and line breaks, plus 1 MiB of headers and text, fits.
    assert limit >= 50 * MIB * 4 / 3 * 78 / 76 + MIB
    # A 60 MiB attachment does not.
    assert limit < 60 * MIB * 4 / 3 * 78 / 76


def test_message_size_follows_the_setting():
    small = Settings.model_validate({"limits": {"max_attachment_mb": 10}})
    limit = roles_vars.build(small)["postfix__message_size_limit"]
    assert roles_vars.encoded_size(10 * MIB) + MIB == limit
    assert limit < roles_vars.encoded_size(11 * MIB)


def test_quota_in_bytes():
    settings = Settings.model_validate({"limits": {"default_quota_mb": 2048}})
    assert roles_vars.build(settings)["dovecot__default_quota_bytes"] == 2048 * MIB


def test_tls_names_order_and_duplicates():
    settings = Settings.model_validate(
        {"hostname": "autoconfig.b.org", "domains": ["a.org", "b.org"]}
    )
    assert roles_vars.build(settings)["tls__names"] == [
        "autoconfig.b.org",
        "autoconfig.a.org", "autodiscover.a.org", "mta-sts.a.org",
        "autodiscover.b.org", "mta-sts.b.org",
    ]


def test_tls_files_mode_passes_the_paths():
    settings = Settings.model_validate(
        {"tls": {"mode": "files", "cert_file": "/etc/ssl/c.pem", "key_file": "/etc/ssl/k.pem"}}
    )
    variables = roles_vars.build(settings)
    assert (variables["tls__mode"], variables["tls__cert_file"], variables["tls__key_file"]) == (
        "files", "/etc/ssl/c.pem", "/etc/ssl/k.pem")


def test_alias_domains_and_limits():
    settings = Settings.model_validate({
        "domains": ["a.org"],
        "alias_domains": [{"alias": "b.org", "target": "a.org"}],
        "limits": {"max_list_members": 7, "max_recipients": 30},
        "network": {"mynetworks": ["127.0.0.0/8"]},
    })
    variables = roles_vars.build(settings)
    assert variables["facteur__alias_domains"] == [{"alias": "b.org", "target": "a.org"}]
    assert variables["postfixadmin__alias_goto_limit"] == 7
    assert variables["postfix__max_recipients"] == 30
    assert variables["postfix__mynetworks"] == ["127.0.0.0/8"]


def test_web_upload_limit_covers_the_encoded_attachment():
    variables = roles_vars.build(Settings())
    # 50 MiB by default: the web limit (MiB) holds the whole encoded message Postfix accepts.
    assert variables["web__max_upload_mb"] == 70
    assert variables["web__max_upload_mb"] * MIB >= variables["postfix__message_size_limit"]
    small = Settings.model_validate({"limits": {"max_attachment_mb": 10}})
    assert roles_vars.build(small)["web__max_upload_mb"] == 15


def test_web_single_file_limit_and_roundcube_message_size():
    variables = roles_vars.build(Settings())
    # One file up to the attachment limit; the request (nginx, PHP post_max_size) is larger, so a
    # file a bit too big reaches PHP and Roundcube can say why.
    assert variables["web__max_attachment_mb"] == 50
    assert variables["web__max_upload_mb"] > 60
    # Roundcube refuses what Postfix would refuse, nothing less.
    assert variables["roundcube__max_message_size"] == variables["postfix__message_size_limit"]
    small = roles_vars.build(Settings.model_validate({"limits": {"max_attachment_mb": 10}}))
    assert small["web__max_attachment_mb"] == 10
    assert small["roundcube__max_message_size"] == small["postfix__message_size_limit"]


def test_password_rule_is_the_cli_rule():
    from facteur.admin import passwords

    assert roles_vars.build(Settings())["facteur__password_min_length"] == passwords.MIN_LENGTH == 8
def test_filter_defaults_scan_every_accepted_message():
    variables = roles_vars.build(Settings())
    assert variables["filter__enabled"] is True
    assert variables["filter__on_failure"] == "tempfail"
    assert variables["filter__max_scan_bytes"] == variables["postfix__message_size_limit"]
    assert variables["filter__ratelimit_per_hour"] == 500


def test_filter_settings_are_passed():
    settings = Settings(filter={"max_scan_mb": 10, "on_failure": "accept", "antivirus": True,
                                "enabled": False, "dkim_selector": "Mail2026"})
    variables = roles_vars.build(settings)
    assert variables["filter__max_scan_bytes"] == 10 * MIB
    assert variables["filter__on_failure"] == "accept"
    assert variables["filter__antivirus"] is False  # no antivirus without the filter
    assert variables["filter__dkim_selector"] == "mail2026"
def test_calendar_defaults_offer_activesync_through_autodiscover():
    variables = roles_vars.build(Settings(hostname="mail.example.org", domains=["example.org"]))
    assert variables["sogo__enabled"] is True
    assert variables["sogo__workers"] == 3
    assert variables["sogo__mail_domain"] == "example.org"
    assert variables["memcached__memory_mb"] == 64
    assert variables["autoconfig__activesync_url"] == "https://mail.example.org/Microsoft-Server-ActiveSync"
    assert variables["autoconfig__dav_path"] == "/SOGo/dav/"


def test_calendar_without_activesync_or_disabled_announces_nothing():
    no_eas = roles_vars.build(Settings(calendar={"activesync": False, "workers": 5}))
    assert no_eas["sogo__activesync"] is False and no_eas["nginx__sogo_activesync"] is False
    assert no_eas["autoconfig__activesync_url"] == ""
    assert no_eas["sogo__workers"] == 5
    off = roles_vars.build(Settings(calendar={"enabled": False}))
    assert off["sogo__enabled"] is False and off["nginx__sogo"] is False
    assert off["sogo__activesync"] is False and off["autoconfig__activesync_url"] == ""
