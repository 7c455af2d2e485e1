"""The one mapping from Settings to Ansible role variables (docs/development.md lists them).

Templates only see these variables; any arithmetic or derivation happens here, where it is tested.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from facteur import secrets
from facteur.config.schema import Settings

MIB = 1024 * 1024
# Where the tls role puts the server certificate and key in selfsigned mode.
TLS_DIR = "/etc/facteur/tls"
# Room for the headers and text body around the attachment.
MESSAGE_OVERHEAD_BYTES = 1 * MIB
# Subdomains each hosted domain publishes for mail clients (autoconfig), Outlook and MTA-STS.
SERVICE_SUBDOMAINS = ("autoconfig", "autodiscover", "mta-sts")


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


def tls_names(settings: Settings) -> list[str]:
    """Return the certificate names: the hostname first, then autoconfig./autodiscover./mta-sts. of
    each hosted domain, without duplicates, in a stable order."""
    names = [settings.hostname]
    for domain in settings.domains:
        names.extend(f"{sub}.{domain}" for sub in SERVICE_SUBDOMAINS)
    return list(dict.fromkeys(names))


def build(settings: Settings, secrets_dir: Path | str | None = None) -> dict[str, Any]:
    """Given validated Settings and the secrets dir (default: facteur.secrets' one), return the role
    variables as a JSON-serialisable dict. Secrets themselves are never included: roles read them
    from files."""
    files_mode = settings.tls.mode == "files"
    return {
        "facteur__hostname": settings.hostname,
        "facteur__domains": list(settings.domains),
        "facteur__alias_domains": [entry.model_dump() for entry in settings.alias_domains],
        "facteur__admin_email": settings.admin_email,
        "facteur__locale": settings.locale,
        "facteur__secrets_dir": str(secrets.secrets_dir(secrets_dir)),
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
        "backup__schedule": settings.backup.schedule,
        "backup__time": settings.backup.time,
        **calendar_vars(settings),
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
        "autoconfig__activesync_url": (
            f"https://{settings.hostname}/Microsoft-Server-ActiveSync" if activesync else ""
        ),
    }
