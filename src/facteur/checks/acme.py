"""The `facteur status` check of the ACME certificate (tls.mode acme): did the last certbot run work?

Shown only where facteur's certbot has run (its record exists; leaving mode acme removes it). The
certificate check beside it tells how long the certificate in use stays valid; this one tells
whether it will be renewed in time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facteur.acme import paths, record
from facteur.checks import ERROR, OK, WARNING, CheckResult

NAME = "acme"
# The schedule runs twice a day: three days without a run means it stopped.
MAX_AGE = timedelta(days=3)


def _ago(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.0f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"


def classify(last: record.RunRecord | None, now: datetime) -> CheckResult | None:
    """Return the check's result for the record of the last certbot run (None: not in mode acme)."""
    if last is None:
        return None
    age = now - last.finished_at
    if not last.ok:
        retry = "certificate renew" if last.action == "renew" else "certificate issue"
        return CheckResult(
            NAME, ERROR, f"last certbot run ({last.action}) failed {_ago(age)}: {last.error}",
            "every name of the certificate must resolve to this server and port 80 must reach it; "
            f"see {paths.LOGS_DIR}/letsencrypt.log, then sudo facteur {retry}")
    if age > MAX_AGE:
        return CheckResult(NAME, WARNING, f"certbot last ran {_ago(age)} (the schedule runs it twice a day)",
                           "systemctl status facteur-certificate-renew.timer (without systemd: "
                           "/etc/cron.d/facteur-certificate-renew); sudo facteur install puts it back")
    done = "new certificate" if last.changed else "nothing due"
    return CheckResult(NAME, OK, f"last certbot run ({last.action}) ok {_ago(age)}: {done}")


def check_acme() -> CheckResult | None:
    return classify(record.read(), datetime.now(UTC))
