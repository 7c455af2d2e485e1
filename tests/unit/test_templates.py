"""Render every role template with plain Jinja2 and the variables facteur passes, and check key facts.

Lookups are stubbed (they read secrets on the controller); role defaults and release vars are loaded
with Ansible's precedence: defaults < vars/Debian-NN.yml < extra vars (roles_vars.build).
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
import yaml

from facteur import roles_vars
from facteur.admin import passwords
from facteur.config.schema import Settings

ANSIBLE_DIR = Path(__file__).resolve().parents[2] / "src" / "facteur" / "ansible"
ROLES = ANSIBLE_DIR / "roles"
RELEASES = {"2.3": "Debian-12.yml", "2.4": "Debian-13.yml"}


def environment() -> jinja2.Environment:
    # As Ansible's template module renders: trim_blocks on (a block tag eats its newline).
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True)
    env.globals["lookup"] = lambda *args, **kwargs: "x"
    return env


def resolve(env: jinja2.Environment, value, context: dict):
    """Render templated strings inside a role variable (defaults may refer to other variables)."""
    if isinstance(value, str) and "{{" in value:
        return env.from_string(value).render(context)
    if isinstance(value, list):
        return [resolve(env, item, context) for item in value]
    if isinstance(value, dict):
        return {key: resolve(env, item, context) for key, item in value.items()}
    return value


def role_context(role: Path, release_file: str, service_mgr: str, extra: dict) -> dict:
    env = environment()
    context: dict = {"ansible_managed": "Managed by facteur", "ansible_service_mgr": service_mgr,
                     "ansible_architecture": "x86_64"}
    for source in (role / "defaults" / "main.yml", role / "vars" / release_file):
        if source.exists():
            context.update(yaml.safe_load(source.read_text()) or {})
    context.update(extra)
    for _ in range(3):  # defaults referring to defaults
        context = {key: resolve(env, value, context) for key, value in context.items()}
    return context


def render_role(role_name: str, template_set: str, service_mgr: str = "systemd",
                settings: Settings | None = None, overrides: dict | None = None) -> dict[str, str]:
    """Return {template path relative to templates/: rendered text} for one role."""
    role = ROLES / role_name
    extra = {**roles_vars.build(settings or Settings(), "/etc/facteur/secrets"), **(overrides or {})}
    context = role_context(role, RELEASES[template_set], service_mgr, extra)
    env = environment()
    rendered = {}
    for template in sorted((role / "templates").rglob("*.j2")):
        relative = str(template.relative_to(role / "templates"))
        # Dovecot's per-release sets (etc/dovecot/2.3, 2.4): only this release's; the rest always.
        if (role_name == "dovecot" and re.match(r"etc/dovecot/\d", relative)
                and f"/{context['dovecot__template_set']}/" not in relative):
            continue
        source = template.read_text()
        items: list[tuple[str, dict]] = [(relative, {})]
        if "{{ item" in source:
            maps = context.get("postfix__sql_maps", {})
            items = [(f"{relative}:{key}", {"item": {"key": key, "value": value}})
                     for key, value in maps.items()]
        elif "{{ pool." in source:  # the nginx role's PHP-FPM pools (loop_var: pool)
            pools = [*context["nginx__php_pools"], context["nginx__roundcube_pool"]]
            items = [(f"{relative}:{pool['name']}", {"pool": pool}) for pool in pools]
        for key, item in items:
            rendered[key] = env.from_string(source).render({**context, **item})
    return rendered


ALL_ROLES = sorted(path.name for path in ROLES.iterdir() if (path / "templates").is_dir())


@pytest.mark.parametrize("template_set", sorted(RELEASES))
@pytest.mark.parametrize("service_mgr", ["systemd", "sysvinit"])
@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_template_renders(role, template_set, service_mgr):
    rendered = render_role(role, template_set, service_mgr)
    assert rendered
    for name, text in rendered.items():
        assert "Managed by facteur" in text, name
        if role == "monitoring":
            # Its outputs hold Prometheus/Alertmanager (Go) templates; no Jinja variable may be left.
            assert "{%" not in text and not re.search(r"\{\{\s*[a-z_]+__", text), name
        else:
            assert "{{" not in text and "{%" not in text, name


@pytest.mark.parametrize("template_set", sorted(RELEASES))
def test_postfix_sizes_and_recipients(template_set):
    rendered = render_role("postfix", template_set)
    main_cf = rendered["etc/postfix/main.cf.j2"]
    limit = roles_vars.build(Settings())["postfix__message_size_limit"]
    assert re.search(rf"^message_size_limit = {limit}$", main_cf, re.M)
    assert "mynetworks = 127.0.0.0/8 [::1]/128" in main_cf
    master_cf = rendered["etc/postfix/master.cf.j2"]
    submission = master_cf.split("\nsubmission ", 1)[1].split("\nsmtps ", 1)[0]
    assert "-o smtpd_recipient_limit=50" in submission


def test_postfix_follows_settings():
    settings = Settings.model_validate({"limits": {"max_recipients": 120, "max_attachment_mb": 10}})
    rendered = render_role("postfix", "2.4", settings=settings)
    assert "smtpd_recipient_limit=120" in rendered["etc/postfix/master.cf.j2"]
    limit = roles_vars.build(settings)["postfix__message_size_limit"]
    assert f"message_size_limit = {limit}\n" in rendered["etc/postfix/main.cf.j2"]


def test_client_blocklists_are_asked_after_the_relay_check_on_port_25():
    settings = Settings.model_validate({"filter": {"client_blocklists": ["bl.example.net=127.0.0.[2..11]"]}})
    main_cf = render_role("postfix", "2.4", settings=settings)["etc/postfix/main.cf.j2"]
    restrictions = main_cf.split("smtpd_recipient_restrictions =")[1].split("\n\n")[0]
    assert restrictions.index("reject_unauth_destination") < restrictions.index(
        "reject_rbl_client bl.example.net=127.0.0.[2..11],")
    assert "reject_rbl_client" not in render_role("postfix", "2.4")["etc/postfix/main.cf.j2"]


def test_postfix_log_file_without_systemd():
    without = render_role("postfix", "2.4", "sysvinit")["etc/postfix/main.cf.j2"]
    assert "\nmaillog_file = /var/log/mail.log\n" in without
    with_journal = render_role("postfix", "2.4", "systemd")["etc/postfix/main.cf.j2"]
    assert "\nmaillog_file" not in with_journal


def test_dovecot_24_syntax():
    rendered = render_role("dovecot", "2.4")
    conf = rendered["etc/dovecot/2.4/dovecot.conf.j2"]
    assert "dovecot_config_version = 2.4.0" in conf
    assert "mail_location" not in conf
    assert all("/2.3/" not in name for name in rendered)


def test_dovecot_23_syntax():
    rendered = render_role("dovecot", "2.3")
    conf = rendered["etc/dovecot/2.3/dovecot.conf.j2"]
    assert "mail_location = maildir:~/Maildir" in conf
    assert "dovecot_config_version" not in conf
    assert all("/2.4/" not in name for name in rendered)


@pytest.mark.parametrize("template_set", sorted(RELEASES))
def test_postfixadmin_config(template_set):
    php = render_role("postfixadmin", template_set)["etc/postfixadmin/config.local.php.j2"]
    assert "$CONF['alias_goto_limit'] = '20';" in php
    defaults = yaml.safe_load((ROLES / "postfixadmin" / "defaults" / "main.yml").read_text())
    assert f"$CONF['encrypt'] = '{defaults['postfixadmin__encrypt']}';" in php
    assert "BLF-CRYPT" in defaults["postfixadmin__encrypt"]
    assert "$CONF['admin_email'] = 'postmaster@example.test';" in php


def test_tls_request_lists_every_name():
    cnf = render_role("tls", "2.4")["etc/facteur/tls/server.cnf.j2"]
    assert "CN = mail.example.test" in cnf
    for index, name in enumerate(roles_vars.build(Settings())["tls__names"], start=1):
        assert f"DNS.{index} = {name}" in cnf


@pytest.mark.parametrize("template_set", sorted(RELEASES))
def test_nginx_site_https_only_with_upload_limit(template_set):
    rendered = render_role("nginx", template_set)
    site = rendered["etc/nginx/sites-available/facteur.conf.j2"]
    upload_mb = roles_vars.build(Settings())["web__max_upload_mb"]
    assert f"client_max_body_size {upload_mb}m;" in site
    assert "return 301 https://mail.example.test$request_uri;" in site
    assert "location ^~ /.well-known/acme-challenge/" in site
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in site
    assert "ssl_certificate /etc/facteur/tls/server.crt;" in site
    assert 'add_header Strict-Transport-Security "max-age=63072000" always;' in site
    assert "fastcgi_pass unix:/run/php/postfixadmin.sock;" in site
    # nginx 1.22 (Debian 12) only knows `listen ... http2`; 1.26 (Debian 13) wants `http2 on;`.
    assert ("http2 on;" in site) == (template_set == "2.4")


@pytest.mark.parametrize("template_set", sorted(RELEASES))
def test_php_fpm_pool_own_user_and_limits(template_set):
    rendered = render_role("nginx", template_set)
    pool = rendered["etc/php/fpm/pool.d/pool.conf.j2:postfixadmin"]
    upload_mb = roles_vars.build(Settings())["web__max_upload_mb"]
    assert "\nuser = postfixadmin\ngroup = postfixadmin\n" in pool
    assert "listen = /run/php/postfixadmin.sock" in pool
    assert "listen.owner = www-data" in pool
    # One file up to limits.max_attachment_mb; the request (file + form) up to nginx's limit.
    assert "php_admin_value[upload_max_filesize] = 50M" in pool
    assert f"php_admin_value[post_max_size] = {upload_mb}M" in pool
    assert upload_mb > 50


def test_php_upload_limits_follow_max_attachment():
    settings = Settings.model_validate({"limits": {"max_attachment_mb": 10}})
    rendered = render_role("nginx", "2.4", settings=settings)
    pool = rendered["etc/php/fpm/pool.d/pool.conf.j2:roundcube"]
    upload_mb = roles_vars.build(settings)["web__max_upload_mb"]
    assert "php_admin_value[upload_max_filesize] = 10M" in pool
    assert f"php_admin_value[post_max_size] = {upload_mb}M" in pool
    assert f"client_max_body_size {upload_mb}m;" in rendered["etc/nginx/sites-available/facteur.conf.j2"]


@pytest.mark.parametrize("roundcube", [False, True])
def test_nginx_site_root_is_roundcube_or_redirects(roundcube):
    site = render_role("nginx", "2.4", overrides={"nginx__roundcube": roundcube})[
        "etc/nginx/sites-available/facteur.conf.j2"]
    assert ("fastcgi_pass unix:/run/php/roundcube.sock;" in site) == roundcube
    assert ("return 302 /postfixadmin/;" in site) != roundcube


def test_roundcube_talks_tls_to_the_local_services():
    rendered = render_role("roundcube", "2.4")
    config = rendered["etc/roundcube/config.inc.php.j2"]
    assert "$config['imap_host'] = 'ssl://127.0.0.1:993';" in config
    assert "$config['smtp_host'] = 'tls://127.0.0.1:587';" in config
    assert "'peer_name' => 'mail.example.test'," in config
    assert "'cafile' => '/etc/facteur/tls/ca.crt'," in config
    assert "@unix(/run/mysqld/mysqld.sock)/roundcube'" in config
    assert "$config['language'] = 'en_US';" in config
    assert "'managesieve'" in config and "'zipdownload'" in config


def test_roundcube_follows_locale_and_tls_mode():
    settings = Settings.model_validate({
        "locale": "fr",
        "tls": {"mode": "files", "cert_file": "/etc/ssl/c.pem", "key_file": "/etc/ssl/k.pem"}})
    config = render_role("roundcube", "2.4", settings=settings)["etc/roundcube/config.inc.php.j2"]
    assert "$config['language'] = 'fr_FR';" in config
    assert "cafile" not in config  # a certificate from a public CA: the system's trust store


@pytest.mark.parametrize("path", sorted(p.relative_to(ANSIBLE_DIR).as_posix()
                                         for p in ANSIBLE_DIR.rglob("*.yml")))
def test_every_ansible_yaml_file_parses(path):
    """A YAML slip in a task file (an unquoted `: ` in a name) only shows at install time otherwise."""
    document = yaml.safe_load((ANSIBLE_DIR / path).read_text())
    assert document is not None or path.endswith("main.yml")
def test_roundcube_password_plugin_writes_the_stack_hash_through_its_own_account():
    rendered = render_role("roundcube", "2.4")
    config = rendered["etc/roundcube/config.inc.php.j2"]
    assert "'password'" in config
    plugin = rendered["etc/roundcube/plugins/password/config.inc.php.j2"]
    assert "$config['password_driver'] = 'sql';" in plugin
    assert "'mysql://roundcube_password:x@unix(/run/mysqld/mysqld.sock)/postfixadmin'" in plugin
    assert ("$config['password_query'] = 'UPDATE mailbox SET password = %P, modified = NOW() "
            "WHERE username = %u';") in plugin
    # The hash format of facteur.admin.passwords: {BLF-CRYPT}$2y$10$...
    assert "$config['password_algorithm'] = 'blowfish-crypt';" in plugin
    assert "$config['password_algorithm_prefix'] = '{BLF-CRYPT}';" in plugin
    assert f"$config['password_blowfish_cost'] = {passwords.BCRYPT_COST};" in plugin
    assert "$config['password_confirm_current'] = true;" in plugin
    assert f"$config['password_minimum_length'] = {passwords.MIN_LENGTH};" in plugin


def test_roundcube_vacation_and_message_size():
    rendered = render_role("roundcube", "2.4")
    assert "$config['managesieve_vacation'] = 1;" in rendered[
        "etc/roundcube/plugins/managesieve/config.inc.php.j2"]
    limit = roles_vars.build(Settings())["postfix__message_size_limit"]
    assert f"$config['max_message_size'] = {limit};" in rendered["etc/roundcube/config.inc.php.j2"]


@pytest.mark.parametrize(("locale", "language"), [("en", "en"), ("fr", "fr")])
def test_postfixadmin_language_follows_locale(locale, language):
    settings = Settings.model_validate({"locale": locale})
    php = render_role("postfixadmin", "2.4", settings=settings)["etc/postfixadmin/config.local.php.j2"]
    assert f"$CONF['default_language'] = '{language}';" in php


def test_postfixadmin_password_rule_and_list_cap_follow_settings():
    settings = Settings.model_validate({"limits": {"max_list_members": 7}})
    php = render_role("postfixadmin", "2.4", settings=settings)["etc/postfixadmin/config.local.php.j2"]
    assert "$CONF['alias_goto_limit'] = '7';" in php
    assert f"'/^.{{{passwords.MIN_LENGTH},}}$/su' => 'password_too_short {passwords.MIN_LENGTH}'," in php


def test_unbound_stub_zones_and_forwarders():
    settings = Settings.model_validate({"network": {
        "dns_forwarders": ["192.0.2.53"],
        "dns_stub_zones": [{"zone": "Corp.Example", "servers": ["192.0.2.10", "2001:db8::10"]}]}})
    variables = roles_vars.build(settings)
    assert variables["unbound__enabled"] and variables["postfix__dane"]
    rendered = render_role("unbound", "2.4", settings=settings)
    config = rendered["etc/unbound/unbound.conf.d/facteur.conf.j2"]
    stubs = rendered["etc/unbound/unbound.conf.d/facteur-stub-zones.conf.j2"]
    assert 'domain-insecure: "corp.example"' in stubs
    assert re.search(r'stub-zone:\n    name: "corp.example"\n    stub-addr: 192.0.2.10\n'
                     r'    stub-addr: 2001:db8::10', stubs)
    assert 'forward-zone:\n    name: "."\n    forward-addr: 192.0.2.53' in config
    assert "interface: 127.0.0.1" in config


def test_system_resolver_means_no_unbound_and_no_dane():
    settings = Settings.model_validate({"network": {"resolver": "system"}})
    variables = roles_vars.build(settings)
    assert not variables["unbound__enabled"] and not variables["postfix__dane"]
    main_cf = render_role("postfix", "2.4", settings=settings)["etc/postfix/main.cf.j2"]
    assert "smtp_tls_security_level = may" in main_cf and "dane" not in main_cf
def test_filter_milter_in_postfix_follows_settings():
    main_cf = render_role("postfix", "2.4")["etc/postfix/main.cf.j2"]
    assert "\nsmtpd_milters = inet:127.0.0.1:11332\n" in main_cf
    assert "\nnon_smtpd_milters = inet:127.0.0.1:11332\n" in main_cf
    assert "\nmilter_default_action = tempfail\n" in main_cf
    accept = Settings.model_validate({"filter": {"on_failure": "accept"}})
    assert "\nmilter_default_action = accept\n" in render_role("postfix", "2.4", settings=accept)[
        "etc/postfix/main.cf.j2"]
    off = Settings.model_validate({"filter": {"enabled": False}})
    assert "milter" not in render_role("postfix", "2.4", settings=off)["etc/postfix/main.cf.j2"]


@pytest.mark.parametrize("template_set", sorted(RELEASES))
def test_junk_sieve_script_runs_before_the_users_own(template_set):
    conf = render_role("dovecot", template_set)[f"etc/dovecot/{template_set}/dovecot.conf.j2"]
    assert "/etc/dovecot/sieve/spam-to-junk.sieve" in conf
    off = Settings.model_validate({"filter": {"enabled": False}})
    conf = render_role("dovecot", template_set, settings=off)[f"etc/dovecot/{template_set}/dovecot.conf.j2"]
    assert "spam-to-junk" not in conf


@pytest.mark.parametrize("template_set", sorted(RELEASES))
def test_moves_into_and_out_of_junk_are_learned_only_with_the_filter_on(template_set):
    name = f"etc/dovecot/{template_set}/dovecot.conf.j2"
    conf = render_role("dovecot", template_set)[name]
    for needed in ("/etc/dovecot/sieve/report-spam.sieve", "/etc/dovecot/sieve/report-ham.sieve",
                   "sieve_pipe_bin_dir = /etc/dovecot/sieve/pipe", "imap_sieve", "sieve_imapsieve",
                   "sieve_extprograms", "vnd.dovecot.pipe"):
        assert needed in conf, needed
    if template_set == "2.3":
        assert "imapsieve_mailbox1_name = Junk\n" in conf
        assert "imapsieve_mailbox1_causes = COPY APPEND\n" in conf
        assert "imapsieve_mailbox2_from = Junk\n" in conf
    else:
        assert re.search(r"\nmailbox Junk \{\n  sieve_script report-spam \{\n    type = before\n"
                         r"    cause = copy append\n", conf), conf
        assert re.search(r"\nimapsieve_from Junk \{\n  sieve_script report-ham \{\n    type = before\n"
                         r"    cause = copy\n", conf), conf
    off = Settings.model_validate({"filter": {"enabled": False}})
    conf = render_role("dovecot", template_set, settings=off)[name]
    for absent in ("imap_sieve", "imapsieve", "report-spam", "report-ham", "sieve_pipe_bin_dir"):
        assert absent not in conf, absent


def test_learning_sieve_scripts_pipe_to_rspamd_learn():
    rendered = render_role("dovecot", "2.4")
    spam = rendered["etc/dovecot/sieve/report-spam.sieve.j2"]
    assert 'pipe :copy "rspamd-learn" ["spam"];' in spam
    ham = rendered["etc/dovecot/sieve/report-ham.sieve.j2"]
    assert 'pipe :copy "rspamd-learn" ["ham"];' in ham
    assert 'if string "${mailbox}" ["Trash", "Junk"]' in ham


@pytest.mark.parametrize("rspamc_exit", [0, 1])
def test_rspamd_learn_never_fails_the_move(tmp_path, rspamc_exit):
    """The pipe program exits 0 whatever rspamc says (already learned, rspamd down), and passes the
    message and the class to rspamc."""
    import subprocess

    fake = tmp_path / "rspamc"
    fake.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/args"\n'
                    f'cat > "{tmp_path}/stdin"\nexit {rspamc_exit}\n')
    fake.chmod(0o755)
    script = render_role("dovecot", "2.4")["etc/dovecot/sieve/pipe/rspamd-learn.j2"]
    assert "/usr/bin/rspamc --connect 127.0.0.1:11334 " in script
    program = tmp_path / "rspamd-learn"
    program.write_text(script.replace("/usr/bin/rspamc", str(fake)).replace("logger ", "true "))
    program.chmod(0o755)
    result = subprocess.run([str(program), "spam"], input=b"Subject: x\r\n\r\nbody\r\n", check=False)
    assert result.returncode == 0
    assert (tmp_path / "args").read_text().split()[-1] == "learn_spam"
    assert (tmp_path / "stdin").read_bytes() == b"Subject: x\r\n\r\nbody\r\n"
    (tmp_path / "args").unlink()
    assert subprocess.run([str(program), "bogus"], input=b"", check=False).returncode == 0
    assert not (tmp_path / "args").exists()


def test_roundcube_markasjunk_only_moves():
    config = render_role("roundcube", "2.4")["etc/roundcube/plugins/markasjunk/config.inc.php.j2"]
    assert "$config['markasjunk_learning_driver'] = null;" in config
    assert "$config['markasjunk_spam_mbox'] = 'Junk';" in config
    assert "$config['markasjunk_ham_mbox'] = 'INBOX';" in config


def test_rspamd_follows_filter_settings():
    settings = Settings.model_validate({"filter": {
        "reject_score": 12, "junk_score": 5, "ratelimit_per_hour": 200, "network_lookups": False,
        "ratelimit_users": {"robot@example.test": 5000}}})
    rendered = render_role("rspamd", "2.4", settings=settings)
    actions = rendered["etc/rspamd/local.d/actions.conf.j2"]
    assert "reject = 12.0;" in actions and "add_header = 5.0;" in actions
    ratelimit = rendered["etc/rspamd/local.d/ratelimit.conf.j2"]
    assert """selector = 'user.lower.not_in("robot@example.test")';""" in ratelimit
    assert """selector = 'user.lower.equal("robot@example.test")';""" in ratelimit
    assert 'rate = "200 / 1h";' in ratelimit and 'rate = "5000 / 1h";' in ratelimit
    assert "enabled = false;" in rendered["etc/rspamd/local.d/rbl.conf.j2"]
    # tempfail (default): a message ClamAV could not scan is deferred.
    assert "CLAM_VIRUS_FAIL" in rendered["etc/rspamd/local.d/force_actions.conf.j2"]
    accept = Settings.model_validate({"filter": {"on_failure": "accept"}})
    rendered = render_role("rspamd", "2.4", settings=accept)
    assert "CLAM_VIRUS_FAIL" not in rendered["etc/rspamd/local.d/force_actions.conf.j2"]
    assert "enabled = false;" not in rendered["etc/rspamd/local.d/rbl.conf.j2"]


def test_rspamd_asks_the_local_resolver_only_when_there_is_one():
    options = render_role("rspamd", "2.4")["etc/rspamd/local.d/options.inc.j2"]
    assert 'nameserver = ["127.0.0.1:53"];' in options
    system = Settings.model_validate({"network": {"resolver": "system"}})
    options = render_role("rspamd", "2.4", settings=system)["etc/rspamd/local.d/options.inc.j2"]
    assert "nameserver" not in options


def test_postfix_recovers_quickly_after_a_dovecot_restart():
    main_cf = render_role("postfix", "2.4")["etc/postfix/main.cf.j2"]
    assert "\nservice_throttle_time = 10s\n" in main_cf
