"""SOGo, memcached and the nginx blocks that serve them, rendered as the install renders them."""

from __future__ import annotations

import pytest
from tests.unit.test_templates import render_role

from facteur.config.schema import Settings


def test_sogo_accounts_and_mail_settings():
    conf = render_role("sogo", "2.4")["etc/sogo/sogo.conf.j2"]
    assert "userPasswordAlgorithm = blf-crypt;" in conf
    assert "prependPasswordScheme = YES;" in conf
    assert "DomainFieldName = domain;" in conf
    assert 'viewURL = "mysql://sogo:x@localhost:3306/postfixadmin/sogo_users";' in conf
    assert 'SOGoIMAPServer = "imaps://127.0.0.1:993/?tlsVerifyMode=allowInsecureLocalhost";' in conf
    assert 'SOGoSMTPServer = "smtp://127.0.0.1:587/?tls=YES&tlsVerifyMode=allowInsecureLocalhost";' in conf
    assert "SOGoSMTPAuthenticationType = PLAIN;" in conf
    assert 'WOPort = "127.0.0.1:20000";' in conf


def test_sogo_follows_calendar_settings_and_locale():
    settings = Settings(locale="fr", timezone="Europe/Paris", calendar={"workers": 6, "worker_memory_mb": 512,
                                                                       "memcached_mb": 128})
    sogo = render_role("sogo", "2.4", settings=settings)
    assert "SOGoLanguage = French;" in sogo["etc/sogo/sogo.conf.j2"]
    assert 'SOGoTimeZone = "Europe/Paris";' in sogo["etc/sogo/sogo.conf.j2"]
    assert "WOWorkersCount = 6;" in sogo["etc/sogo/sogo.conf.j2"]
    assert "SxVMemLimit = 512;" in sogo["etc/sogo/sogo.conf.j2"]
    assert "PREFORK=6" in sogo["etc/default/sogo.j2"]
    memcached = render_role("memcached", "2.4", settings=settings)["etc/memcached.conf.j2"]
    assert "-m 128" in memcached.splitlines() and "-l 127.0.0.1" in memcached.splitlines()
    assert "-U 0" in memcached.splitlines()


def test_accounts_view_exposes_only_what_sogo_reads():
    view = render_role("sogo", "2.4")["usr/share/facteur/sogo/accounts-view.sql.j2"]
    assert "SQL SECURITY DEFINER VIEW `sogo_users`" in view
    for column in ("c_uid", "c_name", "c_password", "c_cn", "mail", "domain"):
        assert f"AS {column}" in view
    assert "m.active = 1 AND d.active = 1" in view


@pytest.mark.parametrize("template_set", ["2.3", "2.4"])
def test_nginx_serves_sogo_and_activesync(template_set):
    site = render_role("nginx", template_set)["etc/nginx/sites-available/facteur.conf.j2"]
    assert "location = /.well-known/caldav {\n        return 301 https://$host/SOGo/dav/;" in site
    assert "location = /.well-known/carddav {\n        return 301 https://$host/SOGo/dav/;" in site
    assert "location ^~ /SOGo/ {" in site
    assert "proxy_pass http://127.0.0.1:20000/SOGo/Microsoft-Server-ActiveSync;" in site
    assert "WebServerResources/;" in site
    snippet = render_role("nginx", template_set)["etc/nginx/snippets/facteur-sogo.conf.j2"]
    assert 'proxy_set_header x-webobjects-remote-user "";' in snippet
    assert "proxy_buffer_size 16k;" in snippet


def test_nginx_without_calendar_or_activesync():
    no_eas = render_role("nginx", "2.4", settings=Settings(calendar={"activesync": False}))
    site = no_eas["etc/nginx/sites-available/facteur.conf.j2"]
    assert "location ^~ /SOGo/ {" in site and "Microsoft-Server-ActiveSync" not in site
    off = render_role("nginx", "2.4", settings=Settings(calendar={"enabled": False}))
    assert "SOGo" not in off["etc/nginx/sites-available/facteur.conf.j2"]


def test_autodiscover_announces_activesync_only_when_served():
    settings = Settings(hostname="mail.example.org", domains=["example.org"])
    on = render_role("autoconfig", "2.4", settings=settings)
    script = on["usr/share/facteur/autoconfig/autoconfig.php.j2"]
    assert "const ACTIVESYNC_URL = 'https://mail.example.org/Microsoft-Server-ActiveSync';" in script
    off = render_role("autoconfig", "2.4", settings=Settings(calendar={"activesync": False}))
    assert "const ACTIVESYNC_URL = '';" in off["usr/share/facteur/autoconfig/autoconfig.php.j2"]
