"""Brute-force protection: the `security` section, its role variables and the fail2ban files rendered
from them (systemd's journal or log files, ignore list, release differences)."""

from __future__ import annotations

import configparser

import pytest
from tests.unit.test_templates import render_role

from facteur import roles_vars
from facteur.checks import system
from facteur.config.load import parse_settings
from facteur.config.schema import Settings, duration_seconds
from facteur.errors import ConfigError

JAIL = "etc/fail2ban/jail.d/facteur.conf.j2"
JAILS = ("facteur-postfix-sasl", "facteur-dovecot", "facteur-roundcube", "facteur-postfixadmin")


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, "f.yml")
    return caught.value.message


def jail_conf(service_mgr: str = "systemd", template_set: str = "2.4", settings: Settings | None = None,
              overrides: dict | None = None) -> configparser.ConfigParser:
    """Render jail.d/facteur.conf and parse it the way fail2ban reads it (an INI file)."""
    text = render_role("fail2ban", template_set, service_mgr, settings, overrides)[JAIL]
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_defaults_ban_five_failures_in_ten_minutes_for_an_hour():
    security = Settings().security
    assert security.fail2ban is True
    assert (security.max_retry, security.find_time, security.ban_time) == (5, "10m", "1h")
    assert security.ignore == []
    variables = roles_vars.build(Settings())
    assert variables["fail2ban__enabled"] is True
    assert variables["fail2ban__max_retry"] == 5
    assert variables["fail2ban__find_time"] == 600
    assert variables["fail2ban__ban_time"] == 3600
    assert variables["fail2ban__ignore"] == []


def test_values_from_the_config():
    settings = parse_settings(
        "security: {max_retry: 3, find_time: 1h, ban_time: 2d, ignore: [192.0.2.10, 198.51.100.7/24, "
        "'2001:DB8::/48', '2001:db8::1/128'], fail2ban: false}\n", "f.yml")
    variables = roles_vars.build(settings)
    assert variables["fail2ban__enabled"] is False
    assert variables["fail2ban__max_retry"] == 3
    assert variables["fail2ban__find_time"] == 3600
    assert variables["fail2ban__ban_time"] == 2 * 86400
    assert variables["fail2ban__ignore"] == ["192.0.2.10", "198.51.100.0/24", "2001:db8::/48", "2001:db8::1"]


@pytest.mark.parametrize(("value", "seconds"), [("60s", 60), (90, 90), ("10m", 600), (" 1H ", 3600),
                                                ("1w", 604800)])
def test_durations(value, seconds):
    settings = Settings.model_validate({"security": {"ban_time": value}})
    assert roles_vars.build(settings)["fail2ban__ban_time"] == seconds
    assert duration_seconds(settings.security.ban_time) == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("security: {ban_time: forever}\n", "at 'security.ban_time': 'forever' is not a duration"),
        ("security: {find_time: 5s}\n", "at 'security.find_time': '5s' is too short (at least 10s)"),
        ("security: {ban_time: 0}\n", "at 'security.ban_time'"),
        ("security: {ban_time: -1}\n", "at 'security.ban_time'"),
        ("security: {ban_time: yes}\n", "at 'security.ban_time'"),
        ("security: {max_retry: 0}\n", "at 'security.max_retry'"),
        ("security: {ignore: [office.example.org]}\n", "at 'security.ignore': 'office.example.org' is not"),
        ("security: {ignore: [10.0.0.0/33]}\n", "at 'security.ignore'"),
        ("security: {bantime: 1h}\n", "at 'security.bantime'"),
    ],
)
def test_bad_values(text, expected):
    assert expected in error_of(text)


@pytest.mark.parametrize("template_set", ["2.3", "2.4"])
def test_jails_read_the_journal_under_systemd(template_set):
    conf = jail_conf("systemd", template_set)
    assert conf["DEFAULT"]["backend"] == "systemd"
    unit = {"2.3": "postfix@-.service", "2.4": "postfix.service"}[template_set]
    assert conf["facteur-postfix-sasl"]["journalmatch"] == f"_SYSTEMD_UNIT={unit}"
    assert conf["facteur-dovecot"]["journalmatch"] == "_SYSTEMD_UNIT=dovecot.service"
    for jail in ("facteur-postfix-sasl", "facteur-dovecot"):
        assert "logpath" not in conf[jail]
    assert not conf.has_section("sshd")  # Debian's, as shipped


def test_jails_read_the_log_files_without_systemd():
    """The files that the postfix and dovecot roles write without a journal (maillog_file, log_path)."""
    conf = jail_conf("sysvinit")
    postfix_main = render_role("postfix", "2.4", "sysvinit")["etc/postfix/main.cf.j2"]
    dovecot_conf = render_role("dovecot", "2.4", "sysvinit")["etc/dovecot/2.4/dovecot.conf.j2"]
    assert conf["DEFAULT"]["backend"] == "auto"
    assert f"maillog_file = {conf['facteur-postfix-sasl']['logpath']}\n" in postfix_main
    assert f"log_path = {conf['facteur-dovecot']['logpath']}\n" in dovecot_conf
    assert "journalmatch" not in conf["facteur-postfix-sasl"]


def test_sshd_jail_turned_off_only_when_asked():
    assert not jail_conf("sysvinit").has_section("sshd")
    assert jail_conf("sysvinit", overrides={"fail2ban__sshd_jail": "off"})["sshd"]["enabled"] == "false"


@pytest.mark.parametrize("service_mgr", ["systemd", "sysvinit"])
def test_every_jail_enabled_with_its_ports(service_mgr):
    conf = jail_conf(service_mgr)
    for jail in JAILS:
        assert conf[jail]["enabled"] == "true"
        assert conf[jail]["filter"] == jail
    assert conf["facteur-postfix-sasl"]["port"] == "465,587"
    assert set(conf["facteur-dovecot"]["port"].split(",")) == {"110", "143", "993", "995", "4190"}
    for jail in ("facteur-roundcube", "facteur-postfixadmin"):
        assert conf[jail]["port"] == "80,443"
        assert conf[jail]["logpath"] == "/var/log/nginx/facteur-logins.log"
        assert conf[jail]["backend"] == "auto"


def test_policy_and_ignore_list_from_settings():
    settings = Settings.model_validate({"security": {
        "max_retry": 7, "find_time": "30m", "ban_time": "60s", "ignore": ["198.18.5.1", "2001:db8::/48"]}})
    default = jail_conf(settings=settings)["DEFAULT"]
    assert (default["maxretry"], default["findtime"], default["bantime"]) == ("7", "1800", "60")
    # Loopback always: the webmail logs into IMAP and SMTP from it for every user.
    assert default["ignoreip"].split() == ["127.0.0.0/8", "::1", "198.18.5.1", "2001:db8::/48"]
    assert default["ignoreself"] == "true"


@pytest.mark.parametrize("template_set", ["2.3", "2.4"])
def test_nftables_on_both_releases(template_set):
    default = jail_conf(template_set=template_set)["DEFAULT"]
    assert default["banaction"] == "nftables"
    assert default["banaction_allports"] == "nftables[type=allports]"


def test_filters_are_facteurs_own():
    rendered = render_role("fail2ban", "2.4")
    for jail in JAILS:
        text = rendered[f"etc/fail2ban/filter.d/{jail}.conf.j2"]
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text)
        assert parser["Definition"]["failregex"].count("<HOST>") == 1, jail
    postfixadmin = rendered["etc/fail2ban/filter.d/facteur-postfixadmin.conf.j2"]
    assert " 200 POST /postfixadmin/(?:users/)?login\\.php$" in postfixadmin
    moved = render_role("fail2ban", "2.4", overrides={"nginx__postfixadmin_path": "/admin"})
    assert " POST /admin/(?:users/)?login" in moved["etc/fail2ban/filter.d/facteur-postfixadmin.conf.j2"]


def test_nginx_logs_the_posts_that_the_web_jails_read():
    site = render_role("nginx", "2.4")["etc/nginx/sites-available/facteur.conf.j2"]
    conf = jail_conf()
    log = conf["facteur-roundcube"]["logpath"]
    assert conf["facteur-postfixadmin"]["logpath"] == log
    assert f"access_log {log} facteur_logins if=$facteur_log_post;" in site
    # Address first, normalised path last: the filters anchor on both ends.
    assert "log_format facteur_logins '$remote_addr [$time_local] $status $request_method $uri';" in site
    # Debian's access log is kept (an access_log in a server replaces the inherited one).
    assert "access_log /var/log/nginx/access.log;" in site


def test_status_checks_fail2ban_where_facteurs_jails_are(tmp_path):
    jails, main_cf = tmp_path / "facteur.conf", tmp_path / "main.cf"
    assert "fail2ban" not in system.services(jails, main_cf)
    jails.write_text("[DEFAULT]\n")
    assert system.services(jails, main_cf) == (*system.SERVICES, "fail2ban")


def test_the_database_keeps_bans_as_long_as_they_last():
    def purge_age(ban_time: str) -> str:
        settings = Settings.model_validate({"security": {"ban_time": ban_time}})
        text = render_role("fail2ban", "2.4", settings=settings)["etc/fail2ban/fail2ban.d/facteur.conf.j2"]
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text)
        return parser["DEFAULT"]["dbpurgeage"]

    assert purge_age("1h") == "86400"
    assert purge_age("1w") == "604800"
