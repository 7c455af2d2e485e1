"""Where facteur's ACME certificate lives. The acme role receives the same paths (facteur.roles_vars).

certbot gets directories of its own instead of /etc/letsencrypt: Debian's certbot.timer keeps
renewing whatever an administrator put there, and facteur's scheduled renewal touches only its
certificate, so the two never race for one lineage and a failure is recorded by facteur alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facteur.backup.metrics import TEXTFILE_DIR

CONFIG_DIR = Path("/etc/facteur/certbot")
WORK_DIR = Path("/var/lib/facteur/certbot")
LOGS_DIR = Path("/var/log/facteur/certbot")
# certbot's name for the lineage (live/facteur/, renewal/facteur.conf).
CERT_NAME = "facteur"
# Served by nginx on port 80 at /.well-known/acme-challenge/ (the nginx role's nginx__acme_root).
WEBROOT = Path("/var/lib/facteur/acme")
# Rendered by the acme role; certbot runs it after each issuance or renewal.
DEPLOY_HOOK = Path("/usr/local/lib/facteur/acme-deploy-hook")
# Where every TLS service reads the certificate (leaf + chain) and its key.
TLS_DIR = Path("/etc/facteur/tls")
# The outcome of the last certbot run, for `facteur status`; and its metrics for node exporter.
STATE_DIR = Path("/var/lib/facteur/certificate")
RECORD_FILE = STATE_DIR / "last-run.json"
LOCK_FILE = STATE_DIR / "lock"
TEXTFILE = TEXTFILE_DIR / "facteur_acme.prom"


def live_dir(config_dir: Path = CONFIG_DIR) -> Path:
    """Return the directory of certbot's current files for facteur's lineage."""
    return config_dir / "live" / CERT_NAME


def renewal_conf(config_dir: Path = CONFIG_DIR) -> Path:
    """Return certbot's renewal settings file of facteur's lineage."""
    return config_dir / "renewal" / f"{CERT_NAME}.conf"


@dataclass(frozen=True)
class Layout:
    """All of the above in one value, so that tests can move every file under a temporary dir."""

    config: Path = CONFIG_DIR
    work: Path = WORK_DIR
    logs: Path = LOGS_DIR
    webroot: Path = WEBROOT
    deploy_hook: Path = DEPLOY_HOOK
    tls_dir: Path = TLS_DIR
    record_file: Path = RECORD_FILE
    lock_file: Path = LOCK_FILE
    textfile: Path = TEXTFILE

    @property
    def live(self) -> Path:
        return live_dir(self.config)


# The real machine's layout: the default of every function that takes one.
DEFAULT = Layout()
