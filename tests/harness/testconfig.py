"""The /etc/facteur/facteur.yml that test machines are installed with.

The demo defaults (hostname mail.example.test, domain example.test) stay as they are; sections are
added only where a production default cannot be tested in reasonable time (a ban that lasts an hour,
a scrape every minute) or where the host running the tests must be known to the stack.
Each feature adds its own section in `sections()`, with a comment saying why.
"""

from __future__ import annotations

import yaml

from .container import Container

CONFIG_PATH = "/etc/facteur/facteur.yml"


def sections(container: Container) -> dict:
    """Return the settings that differ from the defaults for the tests on `container`."""
    settings: dict = {}
    # fail2ban (tests/integration/test_bruteforce.py): tests in many files run from the host and
    # fail logins on purpose; the host must never be banned (every later test's connection would be
    # refused), and a ban must end within a test's patience: 60 s, not the hour of production.
    settings["security"] = {"ignore": [container.host_ip], "ban_time": "60s"}
    # Filtering (test_filtering.py). No internet: no blocklist or fuzzy lookups, each of which would
    # only wait for a DNS timeout. ClamAV has no signatures until test_filtering.py loads its own, so
    # the other features' tests need unscannable mail accepted (test_filtering.py checks tempfail by
    # installing again with it). A tiny hourly limit for one dedicated sender, so that the rate
    # limit can be reached in a test without slowing any other test's sender.
    settings["filter"] = {
        "on_failure": "accept",
        # The other features' tests send bare messages (no From, Date or Message-ID) from an address
        # without reverse DNS: about 9.5 points, which production's junk_score (6) rightly files in
        # Junk. 11 keeps them in INBOX; test_filtering.py scores its probe against this value.
        "junk_score": 11,
        "network_lookups": False,
        "ratelimit_users": {"ratelimited@example.test": 3},
    }
    # Monitoring: a scrape and rule evaluation every minute and alerts that wait minutes before a
    # mail would make each alert test last many minutes; these let a stopped service reach the
    # admin's mailbox (and its recovery too) within about a minute.
    settings["monitoring"] = {
        "scrape_interval": "5s",
        "evaluation_interval": "5s",
        "alert_after": "10s",
        "group_wait": "5s",
        "group_interval": "10s",
    }
    return settings


def write(container: Container) -> None:
    """Write the test configuration into `container` before its first install (nothing if empty)."""
    settings = sections(container)
    if not settings:
        return
    text = "# Written by the test harness (tests/harness/testconfig.py).\n" + yaml.safe_dump(
        settings, sort_keys=False)
    container.exec(["install", "-d", "-m", "0755", "/etc/facteur"])
    container.exec(["sh", "-c", 'umask 077 && cat > "$1"', "sh", CONFIG_PATH], input=text)
