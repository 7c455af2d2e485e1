"""tls.mode acme without certbot or a CA: names, certbot's command lines and errors, the decision to
ask for a certificate, the record and metrics of each run, the status check, the role's files."""

from __future__ import annotations

import datetime
import os
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from tests.unit.test_templates import render_role

from facteur import roles_vars
from facteur.acme import certbot, issue, lineage, metrics, names, paths, record
from facteur.checks import acme as acme_check
from facteur.cli import install as install_cli
from facteur.config.schema import Settings
from facteur.errors import FacteurError

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
SERVER = "https://198.18.10.60:14000/dir"


def acme_settings(**tls) -> Settings:
    return Settings.model_validate({"domains": ["example.test", "example.org"],
                                    "tls": {"mode": "acme", "acme_directory": SERVER, **tls}})


# --- names ---------------------------------------------------------------------------------------

def test_names_cover_config_then_database_domains_once():
    got = names.wanted(acme_settings(), ["zeta.test", "example.org", "alpha.test"])
    assert got[:4] == ["mail.example.test", "autoconfig.example.test", "autodiscover.example.test",
                       "mta-sts.example.test"]
    assert got[7:] == ["autoconfig.alpha.test", "autodiscover.alpha.test", "mta-sts.alpha.test",
                       "autoconfig.zeta.test", "autodiscover.zeta.test", "mta-sts.zeta.test"]
    assert len(got) == len(set(got)) == 1 + 3 * 4


def test_too_many_names_for_one_certificate_is_an_error():
    with pytest.raises(FacteurError, match="more than the 100 an ACME certificate may hold"):
        names.wanted(acme_settings(), [f"d{n}.test" for n in range(40)])


def test_database_domains_query_skips_alias_and_inactive_domains():
    class Cursor:
        def execute(self, sql, *args):
            self.sql = " ".join(sql.split())

        def fetchall(self):
            return [{"domain": "a.test"}, {"domain": "b.test"}]

    cur = Cursor()
    assert names.hosted_domains(cur) == ["a.test", "b.test"]
    assert "d.active = 1" in cur.sql and "ad.alias_domain IS NULL" in cur.sql and "'ALL'" in cur.sql


# --- certbot's command lines and errors -----------------------------------------------------------

def test_issue_command_line():
    argv = certbot.issue_argv(["mail.example.test", "autoconfig.example.test"], SERVER, "hm@example.test")
    assert argv[:2] == ["certbot", "certonly"]
    joined = " ".join(argv)
    for part in ("--non-interactive", "--agree-tos", f"--server {SERVER}", "--cert-name facteur",
                 "--config-dir /etc/facteur/certbot", "--work-dir /var/lib/facteur/certbot",
                 "--logs-dir /var/log/facteur/certbot", "--webroot --webroot-path /var/lib/facteur/acme",
                 "--key-type rsa --rsa-key-size 2048", "--reuse-key", "--renew-with-new-domains",
                 "--deploy-hook /usr/local/lib/facteur/acme-deploy-hook",
                 "--email hm@example.test --no-eff-email",
                 "--domains mail.example.test,autoconfig.example.test"):
        assert part in joined, part


def test_issue_without_contact_registers_without_email():
    argv = certbot.issue_argv(["mail.example.test"], SERVER, None)
    assert "--register-unsafely-without-email" in argv and "--email" not in argv


def test_renew_command_line():
    argv = certbot.renew_argv()
    assert argv[:2] == ["certbot", "renew"] and "--cert-name" in argv and "--no-random-sleep-on-renew" in argv
    assert "--force-renewal" not in argv and "--force-renewal" in certbot.renew_argv(force=True)


def test_ca_bundle_reaches_certbot_through_the_environment_and_the_venv_does_not(tmp_path, monkeypatch):
    script = tmp_path / "show-env"
    script.write_text('#!/bin/sh\necho "bundle=${REQUESTS_CA_BUNDLE:-none} path=${PYTHONPATH:-none}"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PYTHONPATH", "/opt/facteur/venv/lib")
    result = certbot.run([str(script)], ca_bundle="/etc/x.pem")
    assert result.stdout.strip() == "bundle=/etc/x.pem path=none"
    assert certbot.run([str(tmp_path / "missing")]).returncode == 127


CHALLENGE_FAILED = """\
Saving debug log to /var/log/facteur/certbot/letsencrypt.log
Requesting a certificate for mail.example.test and 3 more domains

Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority \
reported these problems:
  Domain: autoconfig.example.test
  Type:   connection
  Detail: 198.18.10.2: Fetching http://autoconfig.example.test/.well-known/acme-challenge/x: Timeout

  Domain: mta-sts.example.test
  Type:   dns
  Detail: no valid A records found for mta-sts.example.test

Hint: The Certificate Authority failed to download the temporary challenge files created by Certbot.

Some challenges have failed.
Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile x for more details.
"""

RENEW_FAILED = """\
Saving debug log to /var/log/facteur/certbot/letsencrypt.log

- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
Processing /etc/facteur/certbot/renewal/facteur.conf
- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
Renewing an existing certificate for mail.example.test and 3 more domains
Failed to renew certificate facteur with error: HTTPSConnectionPool(host='198.18.10.60', port=14000): \
Max retries exceeded

- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
All renewals failed. The following certificates could not be renewed:
  /etc/facteur/certbot/live/facteur/fullchain.pem (failure)
- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
1 renew failure(s), 0 parse failure(s)
Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile x for more details.
"""

UNEXPECTED = """\
Saving debug log to /var/log/facteur/certbot/letsencrypt.log
An unexpected error occurred:
requests.exceptions.SSLError: certificate verify failed: unable to get local issuer certificate
Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile x for more details.
"""


@pytest.mark.parametrize(("output", "expected"), [
    (CHALLENGE_FAILED, "autoconfig.example.test: 198.18.10.2: Fetching http://autoconfig.example.test/"
                       ".well-known/acme-challenge/x: Timeout (and 1 more name(s))"),
    (RENEW_FAILED, "HTTPSConnectionPool(host='198.18.10.60', port=14000): Max retries exceeded"),
    (UNEXPECTED, "requests.exceptions.SSLError: certificate verify failed: unable to get local issuer "
                 "certificate"),
    ("Saving debug log to x\nThe requested nonce is bad\n", "The requested nonce is bad"),
    ("", "certbot failed without saying why"),
])
def test_failure_reason_is_the_cause_on_one_line(output, expected):
    assert certbot.failure_reason(output) == expected


# --- certbot's current lineage, as files ---------------------------------------------------------

def make_cert(names_: list[str], days: int = 90, key=None, serial: int = 1000) -> tuple[bytes, bytes]:
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names_[0])])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names_]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_lineage(layout: paths.Layout, names_: list[str], server: str = SERVER, **kwargs) -> None:
    cert, key = make_cert(names_, **kwargs)
    layout.live.mkdir(parents=True, exist_ok=True)
    (layout.live / "cert.pem").write_bytes(cert)
    (layout.live / "fullchain.pem").write_bytes(cert + b"(chain)\n")
    (layout.live / "privkey.pem").write_bytes(key)
    paths.renewal_conf(layout.config).parent.mkdir(parents=True, exist_ok=True)
    paths.renewal_conf(layout.config).write_text(f"version = 4.0.0\n[renewalparams]\nserver = {server}\n")


HOOK = """#!/bin/sh
set -eu
cp "$RENEWED_LINEAGE/fullchain.pem" "{tls}/server.crt"
cp "$RENEWED_LINEAGE/privkey.pem" "{tls}/server.key"
echo deployed >> "{tls}/hook-runs"
"""


@pytest.fixture
def layout(tmp_path) -> paths.Layout:
    layout = paths.Layout(config=tmp_path / "certbot", work=tmp_path / "work", logs=tmp_path / "logs",
                          webroot=tmp_path / "webroot", deploy_hook=tmp_path / "hook",
                          tls_dir=tmp_path / "tls",
                          record_file=tmp_path / "state/last-run.json", lock_file=tmp_path / "state/lock",
                          textfile=tmp_path / "textfile/facteur_acme.prom")
    layout.tls_dir.mkdir()
    layout.textfile.parent.mkdir()
    layout.deploy_hook.write_text(HOOK.format(tls=layout.tls_dir))
    layout.deploy_hook.chmod(0o755)
    return layout


def hook_runs(layout: paths.Layout) -> int:
    runs = layout.tls_dir / "hook-runs"
    return len(runs.read_text().splitlines()) if runs.exists() else 0


def test_lineage_reads_names_server_and_end(layout):
    assert lineage.read(layout.config) is None
    write_lineage(layout, ["mail.example.test", "mta-sts.example.test"], days=60)
    current = lineage.read(layout.config)
    assert current.names == ("mail.example.test", "mta-sts.example.test")
    assert current.server == SERVER and current.not_after == NOW + datetime.timedelta(days=60)
    assert not current.deployed(layout.tls_dir)
    (layout.tls_dir / "server.crt").write_bytes(current.fullchain.read_bytes())
    (layout.tls_dir / "server.key").write_bytes(current.privkey.read_bytes())
    assert current.deployed(layout.tls_dir)


# --- deciding -------------------------------------------------------------------------------------

WANTED = ["mail.example.test", "autoconfig.example.test"]


def test_decide(layout):
    assert issue.decide(WANTED, None, SERVER, NOW, False)[0] == "certbot"
    write_lineage(layout, ["mail.example.test", "mta-sts.example.test"])
    step, reason = issue.decide(WANTED, lineage.read(layout.config), SERVER, NOW, False)
    assert step == "certbot" and "+autoconfig.example.test" in reason and "-mta-sts.example.test" in reason
    write_lineage(layout, WANTED, server="https://other.example/dir")
    assert issue.decide(WANTED, lineage.read(layout.config), SERVER, NOW, False)[0] == "certbot"
    write_lineage(layout, WANTED, days=20)
    assert "ends on" in issue.decide(WANTED, lineage.read(layout.config), SERVER, NOW, True)[1]
    write_lineage(layout, WANTED, days=60)
    assert issue.decide(WANTED, lineage.read(layout.config), SERVER, NOW, False)[0] == "deploy"
    assert issue.decide(WANTED, lineage.read(layout.config), SERVER, NOW, True) == ("nothing", "")


class FakeCertbot:
    """Stands for certbot: on success writes the lineage for the names asked, runs the deploy hook
    (or not, to see facteur repair the services' copy)."""

    def __init__(self, layout: paths.Layout, rc: int = 0, output: str = "", run_hook: bool = True):
        self.layout, self.rc, self.output, self.run_hook = layout, rc, output, run_hook
        self.calls: list[tuple[list[str], str | None]] = []

    def __call__(self, argv, ca_bundle=None):
        self.calls.append((list(argv), ca_bundle))
        if self.rc == 0:
            if argv[1] == "certonly":
                wanted = argv[argv.index("--domains") + 1].split(",")
                write_lineage(self.layout, wanted, serial=2000 + len(self.calls))
            else:
                current = lineage.read(self.layout.config)
                write_lineage(self.layout, list(current.names), serial=3000 + len(self.calls))
            if self.run_hook:
                issue.deploy(self.layout, [])
        return subprocess.CompletedProcess(argv, self.rc, "", self.output)


def test_first_issuance_runs_certbot_records_and_deploys(layout):
    fake = FakeCertbot(layout, run_hook=False)
    settings = acme_settings(acme_ca_bundle="/etc/facteur/acme-ca.pem")
    outcome = issue.ensure(settings, ["example.test"], layout, fake, NOW)
    assert (outcome.step, outcome.changed) == ("issued", True)
    assert fake.calls[0][1] == "/etc/facteur/acme-ca.pem"
    assert lineage.read(layout.config).deployed(layout.tls_dir), "facteur ran the hook certbot did not"
    last = record.read(layout.record_file)
    assert (last.action, last.ok, last.changed) == ("issue", True, True)
    assert 'facteur_acme_last_run_ok{action="issue"} 1' in layout.textfile.read_text()
    # Nothing changed since: certbot is not asked again.
    again = issue.ensure(settings, ["example.test"], layout, fake, NOW)
    assert (again.step, again.changed, len(fake.calls)) == ("unchanged", False, 1)


def test_a_new_database_domain_asks_certbot_for_its_names(layout):
    fake = FakeCertbot(layout)
    issue.ensure(acme_settings(), [], layout, fake, NOW)
    outcome = issue.ensure(acme_settings(), ["new.test"], layout, fake, NOW)
    assert outcome.step == "issued" and "+autoconfig.new.test" in outcome.reason
    assert "mta-sts.new.test" in lineage.read(layout.config).names
    assert hook_runs(layout) == 2


def test_services_on_another_certificate_get_certbots_without_certbot(layout):
    fake = FakeCertbot(layout)
    issue.ensure(acme_settings(), [], layout, fake, NOW)
    (layout.tls_dir / "server.crt").write_text("a certificate from the local CA\n")
    outcome = issue.ensure(acme_settings(), [], layout, fake, NOW)
    assert (outcome.step, len(fake.calls)) == ("deployed", 1)
    assert lineage.read(layout.config).deployed(layout.tls_dir)


def test_failed_issuance_is_recorded_and_exits_3(layout):
    fake = FakeCertbot(layout, rc=1, output=CHALLENGE_FAILED)
    with pytest.raises(issue.CertbotFailed) as caught:
        issue.ensure(acme_settings(), [], layout, fake, NOW)
    assert caught.value.exit_code == 3
    assert "did not issue the certificate: autoconfig.example.test: 198.18.10.2" in caught.value.message
    last = record.read(layout.record_file)
    assert (last.action, last.ok) == ("issue", False) and "Timeout" in last.error
    assert 'facteur_acme_last_run_ok{action="issue"} 0' in layout.textfile.read_text()
    assert hook_runs(layout) == 0


def test_renewal(layout):
    with pytest.raises(issue.CertbotFailed, match="no certificate to renew"):
        issue.renew(acme_settings(), layout=layout, run=FakeCertbot(layout))
    assert not record.read(layout.record_file).ok
    issue.ensure(acme_settings(), [], layout, FakeCertbot(layout), NOW)
    outcome = issue.renew(acme_settings(), force=True, layout=layout, run=FakeCertbot(layout))
    assert (outcome.step, outcome.changed) == ("renewed", True)
    assert lineage.read(layout.config).deployed(layout.tls_dir)
    last = record.read(layout.record_file)
    assert (last.action, last.ok, last.changed) == ("renew", True, True)
    text = layout.textfile.read_text()
    assert 'facteur_acme_last_run_ok{action="renew"} 1' in text
    success = metrics.previous_success(layout.textfile)
    with pytest.raises(issue.CertbotFailed, match="renewal from .* failed: HTTPSConnectionPool"):
        issue.renew(acme_settings(), layout=layout, run=FakeCertbot(layout, rc=1, output=RENEW_FAILED))
    text = layout.textfile.read_text()
    assert 'facteur_acme_last_run_ok{action="renew"} 0' in text
    assert f"facteur_acme_last_success_timestamp_seconds {success:.0f}" in text, "the last success is kept"


def test_renewal_not_due_changes_nothing(layout):
    issue.ensure(acme_settings(), [], layout, FakeCertbot(layout), NOW)

    def not_due(argv, ca_bundle=None):
        return subprocess.CompletedProcess(argv, 0, "Certificate not yet due for renewal\n", "")

    outcome = issue.renew(acme_settings(), layout=layout, run=not_due)
    assert (outcome.step, outcome.changed) == ("not due", False)
    assert record.read(layout.record_file).ok


# --- facteur status and install ------------------------------------------------------------------

def _record(ok: bool, hours: float, action: str = "renew", error: str = "") -> record.RunRecord:
    finished = (NOW - datetime.timedelta(hours=hours)).isoformat()
    return record.RunRecord(finished=finished, action=action, ok=ok, error=error)


def test_status_check():
    assert acme_check.classify(None, NOW) is None
    failed = acme_check.classify(_record(False, 2, error="CA down"), NOW)
    assert failed.status == "error" and "(renew) failed 2 h ago: CA down" in failed.summary
    assert "sudo facteur certificate renew" in failed.fix_hint and "port 80" in failed.fix_hint
    assert "certificate issue" in acme_check.classify(_record(False, 1, "issue", "x"), NOW).fix_hint
    assert acme_check.classify(_record(True, 80), NOW).status == "warning"
    ok = acme_check.classify(_record(True, 5), NOW)
    assert ok.status == "ok" and "5 h ago" in ok.summary


def test_install_reports_a_failed_issuance_of_this_run_only(monkeypatch):
    started = NOW - datetime.timedelta(minutes=5)
    monkeypatch.setattr(install_cli.acme_record, "read", lambda: _record(False, 0, "issue", "CA down"))
    with pytest.raises(issue.CertbotFailed, match="did not issue the certificate: CA down"):
        install_cli._report_acme(started)
    monkeypatch.setattr(install_cli.acme_record, "read", lambda: _record(False, 1, "issue", "CA down"))
    install_cli._report_acme(started)  # an older failure was already reported by its own run
    monkeypatch.setattr(install_cli.acme_record, "read", lambda: _record(True, 0, "issue"))
    install_cli._report_acme(started)


def test_metrics_textfile_without_a_success_yet():
    text = metrics.render(_record(False, 0, "issue"), None)
    assert 'facteur_acme_last_run_ok{action="issue"} 0' in text
    assert "last_success" not in text


# --- role variables and files --------------------------------------------------------------------

def test_role_variables_follow_the_mode():
    acme = roles_vars.build(acme_settings(), "/s")
    assert acme["acme__enabled"] and acme["tls__mode"] == "acme"
    assert acme["monitoring__probe_ca_file"] == ""  # the ACME CA is in the system's store
    assert acme["acme__webroot"] == acme["nginx__acme_root"] == str(paths.WEBROOT)
    assert not roles_vars.build(Settings(), "/s")["acme__enabled"]


def test_cron_renewal_time_is_fixed_per_host_and_spread_between_hosts():
    times = {roles_vars.renewal_time(f"mail{n}.example.test") for n in range(20)}
    assert len(times) > 10
    assert all(0 <= minute < 60 and 0 <= hour < 12 for minute, hour in times)
    assert roles_vars.renewal_time("mail.example.test") == roles_vars.renewal_time("mail.example.test")


def test_roundcube_trusts_the_local_ca_and_the_system_store_in_acme_mode():
    config = render_role("roundcube", "2.4", settings=acme_settings())["etc/roundcube/config.inc.php.j2"]
    assert "'cafile' => '/etc/facteur/tls/ca.crt'," in config
    assert "'capath' => '/etc/ssl/certs'," in config


@pytest.mark.parametrize("service_mgr", ["systemd", "sysvinit"])
def test_renewal_schedule(service_mgr):
    files = render_role("acme", "2.4", service_mgr, settings=acme_settings())
    service = files["etc/systemd/system/facteur-certificate-renew.service.j2"]
    assert "ExecStart=/usr/local/sbin/facteur certificate renew --config /etc/facteur/facteur.yml" in service
    assert "RandomizedDelaySec=12h" in files["etc/systemd/system/facteur-certificate-renew.timer.j2"]
    minute, hour = roles_vars.renewal_time("mail.example.test")
    cron = files["etc/cron.d/facteur-certificate-renew.j2"]
    assert f"\n{minute} {hour},{hour + 12} * * * root /usr/local/sbin/facteur certificate renew" in cron


def _run_hook(tmp_path: Path, key_matches: bool = True) -> tuple[subprocess.CompletedProcess, Path]:
    tls = tmp_path / "tls"
    tls.mkdir()
    hook = tmp_path / "hook"
    hook.write_text(render_role("acme", "2.4", overrides={"tls__dir": str(tls)})
                    ["usr/local/lib/facteur/acme-deploy-hook.j2"])
    hook.chmod(0o755)
    layout = paths.Layout(config=tmp_path / "certbot")
    write_lineage(layout, ["mail.example.test"])
    if not key_matches:
        (layout.live / "privkey.pem").write_bytes(make_cert(["x.test"])[1])
    # Stand-ins for the init system: every service runs; a reload is written down.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("service", "systemctl", "install"):
        stub = bin_dir / name
        if name == "install":  # no chown to root in a test
            stub.write_text('#!/bin/sh\nwhile [ $# -gt 2 ]; do shift; done\ncp "$1" "$2"\n')
        else:
            stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{tmp_path}/calls"\n')
        stub.chmod(stat.S_IRWXU)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "RENEWED_LINEAGE": str(layout.live)}
    return subprocess.run([str(hook)], env=env, capture_output=True, text=True, check=False), layout.live


def test_deploy_hook_installs_the_chain_and_key_then_reloads_the_services(tmp_path):
    result, live = _run_hook(tmp_path)
    assert result.returncode == 0, result.stderr
    tls = tmp_path / "tls"
    assert (tls / "server.crt").read_bytes() == (live / "fullchain.pem").read_bytes()
    assert (tls / "server.key").read_bytes() == (live / "privkey.pem").read_bytes()
    assert not list(tls.glob(".*.new"))
    # `systemctl reload NAME` with systemd, `service NAME reload` without: the same three, in order.
    calls = [line.split() for line in (tmp_path / "calls").read_text().splitlines()]
    reloaded = [words[-1] if words[0] == "systemctl" else words[1] for words in calls if "reload" in words]
    assert reloaded == ["postfix", "dovecot", "nginx"]


def test_deploy_hook_refuses_a_key_that_does_not_match(tmp_path):
    result, _ = _run_hook(tmp_path, key_matches=False)
    assert result.returncode == 1 and "does not match" in result.stderr
    assert not (tmp_path / "tls" / "server.crt").exists()


def test_certificate_command_outside_mode_acme_is_one_line_error(tmp_path):
    from tests.unit.test_cli_errors import facteur

    config = tmp_path / "facteur.yml"
    config.write_text("tls: {mode: selfsigned}\n")
    result = facteur("certificate", "renew", config=config)
    assert result.returncode == 1
    assert result.stderr == ("facteur: error: tls.mode is 'selfsigned': certificates come from an ACME "
                             "server only in mode 'acme' (facteur install makes the others)\n")
