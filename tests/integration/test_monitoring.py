"""Monitoring: Prometheus, Alertmanager and the exporters run on 127.0.0.1 only and see every
service; a stopped Dovecot mails an alert to the admin and then its resolution; a backup that is too
old or failed, and a nearly full filesystem, trip their alerts; failed logins and rejected mail are
counted; the UI at https://HOSTNAME/monitoring/ needs the admin's password.

The test configuration (tests/harness/testconfig.py) shortens the intervals (scrape and evaluation
every 5 s, alerts after 10 s, Alertmanager groups after 5 s / 10 s): each alert is seen within about
a minute. Prometheus is queried from inside the machine (its API is on 127.0.0.1 only).
"""

from __future__ import annotations

import base64
import email.utils
import json
import re
import ssl
import time

import pytest

from tests.harness.waits import wait_until
from tests.integration.helpers import smtp_client
from tests.integration.test_web import _HTTPSConnection

ADMIN = "postmaster@example.test"
PROMETHEUS = "http://127.0.0.1:9090/monitoring"
TEXTFILE = "/var/lib/prometheus/node-exporter/facteur_backup.prom"
# Every monitoring daemon and its port: none may listen beyond loopback.
PORTS = {9090: "prometheus", 9093: "alertmanager", 9100: "node exporter", 9104: "mysqld exporter",
         9115: "blackbox exporter", 9154: "postfix exporter", 9900: "dovecot stats"}
JOBS = {"prometheus", "alertmanager", "node", "postfix", "mysqld", "blackbox", "dovecot", "probe"}

_GET = """
import json, sys, urllib.parse, urllib.request
url = sys.argv[1]
if len(sys.argv) > 2:
    url += "?" + urllib.parse.urlencode({"query": sys.argv[2]})
print(urllib.request.urlopen(url, timeout=10).read().decode())
"""


def api(stack, path: str, query: str | None = None) -> dict:
    """GET Prometheus's API at `path` (inside the machine); return the `data` member."""
    argv = ["python3", "-c", _GET, f"{PROMETHEUS}/api/v1/{path}"] + ([query] if query else [])
    answer = json.loads(stack.exec(argv, timeout=30).stdout)
    assert answer["status"] == "success", answer
    return answer["data"]


def query(stack, expr: str) -> list[dict]:
    return api(stack, "query", expr)["result"]


def firing(stack, alertname: str, **labels: str) -> list[dict]:
    """Return the firing alerts named `alertname` whose labels include `labels`."""
    return [a for a in api(stack, "alerts")["alerts"]
            if a["labels"]["alertname"] == alertname and a["state"] == "firing"
            and all(a["labels"].get(k) == v for k, v in labels.items())]


def wait_firing(stack, alertname: str, timeout: float = 120, **labels: str) -> list[dict]:
    return wait_until(lambda: firing(stack, alertname, **labels), timeout, 2.0,
                      f"alert {alertname} {labels} firing")


def wait_gone(stack, alertname: str, timeout: float = 120, **labels: str) -> None:
    wait_until(lambda: not firing(stack, alertname, **labels), timeout, 2.0,
               f"alert {alertname} {labels} resolved")


def service(stack, name: str, action: str) -> None:
    """Start or stop a service the way the admin would (`service` works with and without systemd)."""
    stack.exec(["service", name, action], timeout=120)


def wait_all_targets_up(stack, timeout: float = 120) -> list[dict]:
    def probe():
        targets = api(stack, "targets")["activeTargets"]
        down = [t for t in targets if t["health"] != "up"]
        return targets if targets and not down else None
    return wait_until(probe, timeout, 2.0, "every scrape target up")


def alert_mail(status: str, alertname: str, service_name: str, since: float):
    """Predicate: a mail from Alertmanager with this status/alert/service, dated at or after `since`."""
    subject = re.compile(rf"^\[{status}\] {alertname} {re.escape(service_name)} on ")

    def predicate(message) -> bool:
        date = email.utils.parsedate_to_datetime(message["Date"]).timestamp()
        return bool(subject.match(str(message["Subject"]))) and date >= since - 2
    return predicate


# ------------------------------------------------------------------------------------------------


def test_every_target_is_up_and_on_loopback_only(stack):
    targets = wait_all_targets_up(stack)
    assert {t["labels"]["job"] for t in targets} >= JOBS
    listening = stack.exec(["ss", "-Hltn"]).stdout
    for port, name in PORTS.items():
        addresses = re.findall(rf"(\S+):{port}\s", listening)
        assert addresses == ["127.0.0.1"], f"{name} listens on {addresses}"
    assert not re.search(r":9094\s", listening), "Alertmanager's cluster port is open"


def test_probes_pass_with_the_local_ca_and_see_certificate_expiry(stack):
    wait_all_targets_up(stack)
    want = {"127.0.0.1:25": "1", "127.0.0.1:587": "1", "127.0.0.1:993": "1", "https://127.0.0.1/": "1"}
    # Probes run at each scrape: wait for one round where all pass (a service may just have restarted).
    def probes():
        return {r["metric"]["instance"]: r["value"][1] for r in query(stack, "probe_success")}
    # Other probes (the MTA-STS resolver's port, say) must pass too.
    def all_pass_with_wanted():
        results = probes()
        return set(want) <= set(results) and all(value == "1" for value in results.values())
    wait_until(all_pass_with_wanted, 60, 2.0, "every probe passing")
    days = [float(r["value"][1]) for r in query(stack, "(probe_ssl_earliest_cert_expiry - time()) / 86400")]
    assert len(days) == 4 and all(d > 14 for d in days), days


def test_stopped_dovecot_mails_an_alert_then_its_resolution(stack):
    password = stack.admin_password
    wait_all_targets_up(stack)
    stopped_at = time.time()
    service(stack, "dovecot", "stop")
    try:
        alerts = wait_firing(stack, "ServiceDown", service="dovecot")
        assert any(a["labels"].get("instance") == "127.0.0.1:993" for a in alerts)
        assert all(a["annotations"]["summary"] and a["annotations"]["description"] for a in alerts)
        # Alertmanager has handed the mail to Postfix; it waits in the queue (no LMTP without Dovecot).
        wait_until(lambda: "alertmanager@" in stack.exec(["postqueue", "-p"]).stdout, 90, 2.0,
                   "the alert mail in Postfix's queue")
    finally:
        started_at = time.time()
        service(stack, "dovecot", "start")
        stack.wait_for_port(993)
    # Deliver the deferred alert now rather than at Postfix's next retry (minutes away). Flushed
    # again while waiting: the first flush may come before Dovecot's LMTP takes deliveries.
    message = None
    deadline = time.monotonic() + 150
    while message is None and time.monotonic() < deadline:
        stack.exec(["postqueue", "-f"])
        try:
            message = stack.wait_for_message(ADMIN, password, alert_mail("FIRING", "ServiceDown", "dovecot",
                                                                         stopped_at), timeout=15)
        except TimeoutError:
            continue
    assert message is not None, "the FIRING alert mail never reached the admin's INBOX: " + \
        stack.exec(["postqueue", "-p"]).stdout[-800:]
    body = message.get_body(("plain",)).get_content()
    assert "What to do:" in body and "dovecot" in body
    wait_gone(stack, "ServiceDown", service="dovecot")
    stack.wait_for_message(ADMIN, password, alert_mail("RESOLVED", "ServiceDown", "dovecot", started_at),
                           timeout=120)


def _backup_metric(stack, name: str) -> float | None:
    result = query(stack, name)
    return float(result[0]["value"][1]) if result else None


def test_backup_run_exports_its_outcome_and_old_or_failed_backups_alert(stack):
    result = stack.facteur("backup", "run", timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    text = stack.read_file(TEXTFILE)
    assert "facteur_backup_last_run_ok 1" in text
    success = float(re.search(r"^facteur_backup_last_success_timestamp_seconds (\S+)$", text, re.M).group(1))
    assert abs(success - time.time()) < 900
    wait_until(lambda: _backup_metric(stack, "facteur_backup_last_success_timestamp_seconds") == success,
               60, 2.0, "the backup's textfile in Prometheus")

    # A failed run (unusable repository): recorded as failed, the last success kept.
    config = stack.read_file("/etc/facteur/facteur.yml")
    bad = config + "backup:\n  repository: /proc/facteur-no-such-repository\n"
    stack.exec(["sh", "-c", "umask 077 && cat > /root/bad-backup.yml"], input=bad)
    result = stack.facteur("backup", "--config", "/root/bad-backup.yml", "run", timeout=300)
    assert result.returncode != 0
    text = stack.read_file(TEXTFILE)
    assert "facteur_backup_last_run_ok 0" in text
    assert f"facteur_backup_last_success_timestamp_seconds {success:.0f}" in text
    wait_firing(stack, "BackupFailed", service="backup")

    # A success 30 hours ago (a day of skipped backups): older than backup_max_age_hours (26).
    old = text.replace(f"facteur_backup_last_success_timestamp_seconds {success:.0f}",
                       f"facteur_backup_last_success_timestamp_seconds {time.time() - 30 * 3600:.0f}")
    stack.exec(["sh", "-c", f"cat > {TEXTFILE}.tmp && mv {TEXTFILE}.tmp {TEXTFILE}"], input=old)
    try:
        alerts = wait_firing(stack, "BackupTooOld", service="backup")
        assert "old" in alerts[0]["annotations"]["summary"]
    finally:
        result = stack.facteur("backup", "run", timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
    wait_gone(stack, "BackupTooOld", service="backup")
    wait_gone(stack, "BackupFailed", service="backup")


def test_nearly_full_filesystem_trips_the_disk_alert(stack):
    # Not under /mnt or /media: Debian's node exporter leaves those out (removable media).
    mountpoint = "/srv/facteur-full-test"
    stack.exec(["mkdir", "-p", mountpoint])
    stack.exec(["mount", "-t", "tmpfs", "-o", "size=4m", "facteur-full-test", mountpoint])
    try:
        # 3.7 of 4 MiB: 92 % > 85 %.
        stack.exec(["dd", "if=/dev/zero", f"of={mountpoint}/fill", "bs=64k", "count=59"])
        alerts = wait_firing(stack, "DiskAlmostFull", mountpoint=mountpoint)
        assert "% full" in alerts[0]["annotations"]["summary"]
        assert not firing(stack, "DiskAlmostFull", mountpoint="/"), "the root filesystem is not full"
    finally:
        stack.exec(["umount", mountpoint], check=False)
        stack.exec(["rmdir", mountpoint], check=False)
    wait_gone(stack, "DiskAlmostFull", mountpoint=mountpoint)


def test_clamav_signature_age_only_where_clamav_is(stack):
    job = "/usr/local/lib/facteur/clamav-metrics"
    textfile = "/var/lib/prometheus/node-exporter/facteur_clamav.prom"
    had_clamav = stack.exec(["test", "-d", "/var/lib/clamav"], check=False).returncode == 0
    if had_clamav:
        pytest.skip("ClamAV is installed here: its real signatures decide this alert")
    stack.exec([job])
    assert stack.exec(["test", "-e", textfile], check=False).returncode != 0, "a metric without ClamAV"
    stack.exec(["mkdir", "-p", "/var/lib/clamav"])
    try:
        # Signatures last updated 5 days ago (more than clamav_max_age_days, 3).
        stack.exec(["touch", "-d", "5 days ago", "/var/lib/clamav/daily.cvd"])
        stack.exec([job])
        assert "facteur_clamav_signature_files 1" in stack.read_file(textfile)
        alerts = wait_firing(stack, "ClamavSignaturesOld", service="clamav")
        assert "old" in alerts[0]["annotations"]["summary"]
    finally:
        stack.exec(["rm", "-rf", "/var/lib/clamav"])
        stack.exec([job])
    assert stack.exec(["test", "-e", textfile], check=False).returncode != 0
    wait_gone(stack, "ClamavSignaturesOld", service="clamav")


def _counter(stack, expr: str) -> float:
    result = query(stack, expr)
    return float(result[0]["value"][1]) if result else 0.0


def test_failed_logins_are_counted(stack):
    wait_all_targets_up(stack)
    before = _counter(stack, "sum(dovecot_auth_failures_total)")
    for _ in range(3):
        imap = stack.imap()
        with pytest.raises(Exception, match="(?i)authentication failed|AUTHENTICATIONFAILED"):
            imap.login(ADMIN, "not-the-password")
        imap.logout()
    wait_until(lambda: _counter(stack, "sum(dovecot_auth_failures_total)") >= before + 3, 60, 2.0,
               "three more failed logins in dovecot_auth_failures_total")


def test_rejected_mail_is_counted_from_postfix_log(stack):
    wait_all_targets_up(stack)
    expr = "sum(postfix_smtpd_messages_rejected_total)"
    before = _counter(stack, expr)
    with smtp_client(stack, 25) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("someone@client.test")
        code, _ = smtp.rcpt("nobody-here@example.test")
        assert code == 550, code
    wait_until(lambda: _counter(stack, expr) >= before + 1, 60, 2.0,
               "the rejection in postfix_smtpd_messages_rejected_total")


def _get_ui(stack, path: str, password: str | None) -> tuple[int, str]:
    """GET `path` over HTTPS, following redirects inside /monitoring/ (Debian 12's Prometheus sends
    /graph to its classic UI); return (final status, body)."""
    context = ssl.create_default_context(cafile=stack.ca_file)
    headers = {"Host": stack.hostname}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    for _ in range(5):
        conn = _HTTPSConnection(stack.hostname, stack.ip, context)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        if response.status not in (301, 302, 303, 307, 308):
            return response.status, body
        location = response.getheader("Location", "")
        path = location.removeprefix(f"https://{stack.hostname}")
        assert path.startswith("/monitoring/"), f"redirected out of /monitoring/: {location}"
    raise AssertionError(f"too many redirects from {path}")


def test_prometheus_ui_needs_the_admin_password(stack):
    password = stack.read_file("/etc/facteur/secrets/monitoring-password").strip()
    assert _get_ui(stack, "/monitoring/graph", None)[0] == 401
    assert _get_ui(stack, "/monitoring/graph", "wrong-password")[0] == 401
    assert _get_ui(stack, "/monitoring/api/v1/status/buildinfo", None)[0] == 401
    status, body = _get_ui(stack, "/monitoring/graph", password)
    assert status == 200 and "Prometheus" in body
    status, body = _get_ui(stack, "/monitoring/api/v1/status/buildinfo", password)
    assert status == 200 and json.loads(body)["data"]["version"]


def test_status_still_reports_as_json(stack):
    result = stack.facteur("status", "--json")
    report = json.loads(result.stdout)
    assert {c["name"] for c in report["checks"]} and "ok" in report


def test_noinit_monitoring_runs_through_init_scripts(noinit_stack):
    targets = wait_all_targets_up(noinit_stack)
    assert {t["labels"]["job"] for t in targets} >= JOBS
    for name in ("prometheus", "prometheus-alertmanager", "prometheus-postfix-exporter"):
        result = noinit_stack.exec(["service", name, "status"], check=False)
        assert result.returncode == 0, name + result.stdout + result.stderr
