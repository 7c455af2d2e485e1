"""The one mapping from Settings to Ansible role variables (docs/development.md lists them).

Templates only see these variables; any arithmetic or derivation happens here, where it is tested.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from facteur import secrets
from facteur.acme import paths as acme_paths
from facteur.admin import passwords
from facteur.config.load import DEFAULT_CONFIG
from facteur.config.schema import Settings, duration_seconds
from facteur.dns import mtasts
from facteur.dns.records import DAV_PATH

MIB = 1024 * 1024
# Where the tls role puts the server certificate and key in selfsigned mode.
TLS_DIR = "/etc/facteur/tls"
# Room for the headers and text body around the attachment.
MESSAGE_OVERHEAD_BYTES = 1 * MIB
# Subdomains each hosted domain publishes for mail clients (autoconfig), Outlook and MTA-STS.
SERVICE_SUBDOMAINS = ("autoconfig", "autodiscover", "mta-sts")
# postfix-mta-sts-resolver's socketmap (Debian's default address): Postfix asks it for other
# domains' MTA-STS policies, the monitoring probes it.
MTA_STS_RESOLVER_PORT = 8461
MTA_STS_POLICY_MAP = f"socketmap:inet:127.0.0.1:{MTA_STS_RESOLVER_PORT}:postfix"


def encoded_size(attachment_bytes: int) -> int:
    """Given an attachment size in bytes, return its size as a MIME base64 body part.

    Base64 turns 3 bytes into 4 characters; MIME cuts lines at 76 characters, each ending in CRLF.
    """
    encoded = 4 * math.ceil(attachment_bytes / 3)
    lines = math.ceil(encoded / 76)
    return encoded + 2 * lines


def message_size_limit(max_attachment_mb: int) -> int:
    """Given the largest attachment in MiB, return Postfix's message_size_limit in bytes.

    A message carrying one attachment of that size (encoded) plus 1 MiB of headers and text fits.
    """
    return encoded_size(max_attachment_mb * MIB) + MESSAGE_OVERHEAD_BYTES


def web_max_upload_mb(max_attachment_mb: int) -> int:
    """Given the largest attachment in MiB, return the web request body limit in MiB (nginx
    client_max_body_size, PHP upload_max_filesize and post_max_size).

    Sized like Postfix's message_size_limit (base64 plus 1 MiB of headers), rounded up to whole MiB:
    an attachment of that size uploads with room to spare, and the webmail refuses larger ones
    itself with a clear message instead of the web server cutting the request.
    """
    return math.ceil(message_size_limit(max_attachment_mb) / MIB)


def certificate_names(hostname: str, domains: Iterable[str]) -> list[str]:
    """Return the certificate names: `hostname` first, then autoconfig./autodiscover./mta-sts. of
    each domain, without duplicates, in a stable order."""
    names = [hostname]
    for domain in domains:
        names.extend(f"{sub}.{domain}" for sub in SERVICE_SUBDOMAINS)
    return list(dict.fromkeys(names))


def tls_names(settings: Settings) -> list[str]:
    """Return the certificate names of the configured domains (facteur.acme.names adds the ones
    added with `facteur domain add` in mode acme)."""
    return certificate_names(settings.hostname, settings.domains)


def mta_sts_policy(settings: Settings) -> str:
    """Return the MTA-STS policy text every domain serves, or "" when tls.mta_sts is `none`."""
    if settings.tls.mta_sts == "none":
        return ""
    return mtasts.policy_text(settings.hostname, settings.tls.mta_sts)


def build(settings: Settings, secrets_dir: Path | str | None = None,
          config_file: Path | str = DEFAULT_CONFIG) -> dict[str, Any]:
    """Given validated Settings, the secrets dir (default: facteur.secrets' one) and the config file
    they come from, return the role variables as a JSON-serialisable dict. Secrets themselves are
    never included: roles read them from files."""
    files_mode = settings.tls.mode == "files"
    return {
        "facteur__hostname": settings.hostname,
        "facteur__domains": list(settings.domains),
        "facteur__alias_domains": [entry.model_dump() for entry in settings.alias_domains],
        "facteur__admin_email": settings.admin_email,
        "facteur__locale": settings.locale,
        "facteur__secrets_dir": str(secrets.secrets_dir(secrets_dir)),
        "facteur__config_file": str(config_file),
        "tls__mode": settings.tls.mode,
        "tls__cert_file": settings.tls.cert_file if files_mode else f"{TLS_DIR}/server.crt",
        "tls__key_file": settings.tls.key_file if files_mode else f"{TLS_DIR}/server.key",
        "tls__names": tls_names(settings),
        "postfix__message_size_limit": message_size_limit(settings.limits.max_attachment_mb),
        "postfix__max_recipients": settings.limits.max_recipients,
        "postfix__mynetworks": list(settings.network.mynetworks),
        "postfixadmin__alias_goto_limit": settings.limits.max_list_members,
        "dovecot__default_quota_bytes": settings.limits.default_quota_mb * MIB,
        "web__max_upload_mb": web_max_upload_mb(settings.limits.max_attachment_mb),
        "nginx__mta_sts_policy": mta_sts_policy(settings),
        "web__max_attachment_mb": settings.limits.max_attachment_mb,
        "roundcube__max_message_size": message_size_limit(settings.limits.max_attachment_mb),
        "facteur__password_min_length": passwords.MIN_LENGTH,
        "unbound__enabled": settings.network.resolver == "local",
        "postfix__dane": settings.network.resolver == "local",
        "rspamd__local_resolver": settings.network.resolver == "local",
        "postfix__client_blocklists": list(settings.filter.client_blocklists),
        "unbound__forwarders": list(settings.network.dns_forwarders),
        "unbound__stub_zones": [zone.model_dump() for zone in settings.network.dns_stub_zones],
        **outbound_mta_sts_vars(settings),
        "backup__schedule": settings.backup.schedule,
        "backup__time": settings.backup.time,
        "fail2ban__enabled": settings.security.fail2ban,
        "fail2ban__max_retry": settings.security.max_retry,
        "fail2ban__find_time": duration_seconds(settings.security.find_time),
        "fail2ban__ban_time": duration_seconds(settings.security.ban_time),
        "fail2ban__ignore": list(settings.security.ignore),
        **acme_vars(settings),
        **filter_vars(settings),
        **monitoring_vars(settings),
        **calendar_vars(settings),
    }


def outbound_mta_sts_vars(settings: Settings) -> dict[str, Any]:
    """Return the variables that make Postfix honour other domains' MTA-STS policies
    (network.outbound_mta_sts): the resolver daemon, Postfix's policy map, the monitoring probe."""
    enabled = settings.network.outbound_mta_sts
    probe = {"target": f"127.0.0.1:{MTA_STS_RESOLVER_PORT}", "module": "tcp_connect",
             "service": "postfix-mta-sts-resolver"}
    return {
        "mta_sts_resolver__enabled": enabled,
        "mta_sts_resolver__port": MTA_STS_RESOLVER_PORT,
        "postfix__tls_policy_maps": [MTA_STS_POLICY_MAP] if enabled else [],
        "monitoring__extra_probes": [probe] if enabled else [],
    }


def acme_vars(settings: Settings) -> dict[str, Any]:
    """Return the acme role's variables: certbot's directories and the deploy hook (the same paths
    facteur.acme uses), and the challenge directory nginx serves on port 80."""
    return {
        "acme__enabled": settings.tls.mode == "acme",
        "acme__config_dir": str(acme_paths.CONFIG_DIR),
        "acme__work_dir": str(acme_paths.WORK_DIR),
        "acme__logs_dir": str(acme_paths.LOGS_DIR),
        "acme__deploy_hook": str(acme_paths.DEPLOY_HOOK),
        "acme__state_dir": str(acme_paths.STATE_DIR),
        "acme__textfile": str(acme_paths.TEXTFILE),
        "acme__webroot": str(acme_paths.WEBROOT),
        "nginx__acme_root": str(acme_paths.WEBROOT),
        **dict(zip(("acme__cron_minute", "acme__cron_hour"), renewal_time(settings.hostname), strict=True)),
    }


def renewal_time(hostname: str) -> tuple[int, int]:
    """Return (minute, hour 0-11) of the twice-daily renewal by cron: fixed for a host (a second
    install changes nothing) but different between hosts, so that they do not call the CA at once."""
    digest = hashlib.sha256(hostname.encode()).digest()
    return digest[0] % 60, digest[1] % 12


def max_scan_bytes(settings: Settings) -> int:
    """Return the largest message scanned for viruses, in bytes: `filter.max_scan_mb`, or by default
    Postfix's message_size_limit (every accepted message is scanned)."""
    if settings.filter.max_scan_mb is not None:
        return settings.filter.max_scan_mb * MIB
    return message_size_limit(settings.limits.max_attachment_mb)


def filter_vars(settings: Settings) -> dict[str, Any]:
    """Return the variables of the redis, rspamd and clamav roles (and of Postfix's and Dovecot's
    milter and Junk settings) from the `filter` section."""
    f = settings.filter
    return {
        "filter__enabled": f.enabled,
        "filter__on_failure": f.on_failure,
        "filter__reject_score": f.reject_score,
        "filter__junk_score": f.junk_score,
        "filter__antivirus": f.enabled and f.antivirus,
        "filter__max_scan_bytes": max_scan_bytes(settings),
        "filter__dkim_selector": f.dkim_selector,
        "filter__ratelimit_per_hour": f.ratelimit_per_hour,
        "filter__ratelimit_users": [{"user": user, "per_hour": count}
                                    for user, count in sorted(f.ratelimit_users.items())],
        "filter__network_lookups": f.network_lookups,
        "filter__dns_timeout_s": f.dns_timeout_s,
    }


# Dovecot's statistics (OpenMetrics) listener on 127.0.0.1, scraped by Prometheus.
DOVECOT_METRICS_PORT = 9900


def monitoring_vars(settings: Settings) -> dict[str, Any]:
    """Return the monitoring role's variables (and Dovecot's metrics port: 0 = no listener)."""
    monitoring = settings.monitoring
    return {
        "monitoring__enabled": monitoring.enabled,
        "monitoring__scrape_interval": monitoring.scrape_interval,
        "monitoring__evaluation_interval": monitoring.evaluation_interval,
        "monitoring__alert_after": monitoring.alert_after,
        "monitoring__group_wait": monitoring.group_wait,
        "monitoring__group_interval": monitoring.group_interval,
        "monitoring__repeat_interval": monitoring.repeat_interval,
        "monitoring__retention": monitoring.retention,
        "monitoring__alert_email": monitoring.alert_email or settings.admin_email,
        "monitoring__webhook_url": monitoring.webhook_url or "",
        "monitoring__web": monitoring.web,
        "monitoring__disk_threshold_percent": monitoring.disk_threshold_percent,
        "monitoring__certificate_days": monitoring.certificate_days,
        "monitoring__backup_max_age_hours": monitoring.backup_max_age_hours,
        "monitoring__clamav_max_age_days": monitoring.clamav_max_age_days,
        "monitoring__rspamd": monitoring.rspamd,
        # The probes trust the local CA in selfsigned mode, the system's CAs with provided files and
        # with an ACME CA.
        "monitoring__probe_ca_file": f"{TLS_DIR}/ca.crt" if settings.tls.mode == "selfsigned" else "",
        "dovecot__metrics_port": DOVECOT_METRICS_PORT if monitoring.enabled else 0,
    }


def calendar_vars(settings: Settings) -> dict[str, Any]:
    """Return the role variables of SOGo, memcached and the parts of nginx and autoconfig that
    serve it. ActiveSync is announced by autodiscover only when SOGo serves it."""
    calendar = settings.calendar
    activesync = calendar.enabled and calendar.activesync
    return {
        "sogo__enabled": calendar.enabled,
        "sogo__workers": calendar.workers,
        "sogo__worker_memory_mb": calendar.worker_memory_mb,
        "sogo__activesync": activesync,
        "sogo__timezone": settings.timezone,
        "sogo__mail_domain": settings.domains[0],
        "memcached__memory_mb": calendar.memcached_mb,
        "nginx__sogo": calendar.enabled,
        "nginx__sogo_activesync": activesync,
        "autoconfig__dav_path": DAV_PATH if calendar.enabled else "",
        "autoconfig__activesync_url": (
            f"https://{settings.hostname}/Microsoft-Server-ActiveSync" if activesync else ""
        ),
    }
