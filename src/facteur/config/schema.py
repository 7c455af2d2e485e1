"""The one schema of facteur's configuration (/etc/facteur/facteur.yml).

Every field has a description and an example: the sample config (facteur.config.sample) and the
reference (docs/configuration.md, facteur.config.reference) are generated from them. Defaults make a
working demo: `facteur install` without a config file installs mail.example.test for example.test.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from facteur.admin import validate as admin_validate
from facteur.dns import trustanchor
from facteur.errors import FacteurError

_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_TIMEZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")


def normalize_domain(value: str) -> str:
    """Given a DNS name, return it normalised as the day-2 commands store it; raise ValueError if invalid.

    One rule for the config file and the CLI: facteur.admin.validate.normalize_domain.
    """
    if not isinstance(value, str):
        raise ValueError("must be a domain name (text)")
    try:
        return admin_validate.normalize_domain(value)
    except FacteurError as exc:
        raise ValueError(str(exc)) from None


class _Model(BaseModel):
    # Unknown keys are errors: a typo must never be silently ignored.
    model_config = ConfigDict(extra="forbid", validate_default=True)


class AliasDomain(_Model):
    """A domain whose addresses are delivered to the same local parts of a hosted domain."""

    alias: str = Field(
        description="The alias domain: mail to USER@alias goes to USER@target.",
        examples=["example.net"],
    )
    target: str = Field(
        description="The hosted domain (one of `domains`) that receives the mail.",
        examples=["example.test"],
    )

    @field_validator("alias", "target")
    @classmethod
    def _domain(cls, value: str) -> str:
        return normalize_domain(value)


# Let's Encrypt's production ACME directory: the default of tls.acme_directory.
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
ACME_KEYS = ("acme_directory", "acme_email", "acme_ca_bundle")


def email_address(value: str) -> str:
    """Given an email address, return it normalised (lower case); raise ValueError if invalid."""
    local, at, domain = value.strip().lower().rpartition("@")
    if not at or not _LOCAL_PART.match(local):
        raise ValueError(f"{value!r} is not an email address")
    return f"{local}@{normalize_domain(domain)}"


class TlsSettings(_Model):
    """Certificates used by every TLS service (SMTP, IMAP, POP3, ManageSieve, web)."""

    mode: Literal["selfsigned", "files", "acme"] = Field(
        "selfsigned",
        description=(
            "Where the server certificate comes from: `selfsigned` (a local CA made at install signs it), "
            "`files` (your own certificate chain and key, see cert_file and key_file) or `acme` (Let's "
            "Encrypt or another ACME CA, through Debian's certbot over HTTP on port 80, renewed "
            "automatically; choosing it accepts the CA's terms of service)."
        ),
        examples=["acme"],
    )
    cert_file: str | None = Field(
        None,
        description="Mode `files` only: absolute path of the PEM certificate chain (leaf first).",
        examples=["/etc/ssl/mail/fullchain.pem"],
    )
    key_file: str | None = Field(
        None,
        description="Mode `files` only: absolute path of the PEM private key of that certificate.",
        examples=["/etc/ssl/mail/privkey.pem"],
    )
    mta_sts: Literal["none", "testing", "enforce"] = Field(
        "testing",
        description=(
            "MTA-STS policy published for every hosted domain (RFC 8461) at "
            "https://mta-sts.DOMAIN/.well-known/mta-sts.txt: `testing` (senders report failures but "
            "still deliver), `enforce` (senders refuse to deliver without valid TLS to this server) "
            "or `none` (no policy). Start with `testing`; `facteur dns` prints the matching records."
        ),
        examples=["enforce"],
    )
    acme_directory: str | None = Field(
        None,
        description=(
            "Mode `acme` only: directory URL of the ACME server. Default: Let's Encrypt's production "
            f"({LETS_ENCRYPT}); its staging CA "
            "(https://acme-staging-v02.api.letsencrypt.org/directory) issues untrusted certificates "
            "without production's rate limits, for a trial."
        ),
        examples=["https://acme.internal.example.org/acme/directory"],
    )
    acme_email: str | None = Field(
        None,
        description=(
            "Mode `acme` only: contact address given to the ACME CA (expiry and policy notices). "
            "Default: none."
        ),
        examples=["hostmaster@example.org"],
    )
    acme_ca_bundle: str | None = Field(
        None,
        description=(
            "Mode `acme` only: absolute path of a PEM file with the CA certificates to trust for the "
            "ACME server's own HTTPS, for a private ACME CA whose API certificate is not from a "
            "public CA. Default: the system's trust store."
        ),
        examples=["/etc/ssl/private-acme/root.pem"],
    )

    @field_validator("cert_file", "key_file", "acme_ca_bundle")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"must be an absolute path, got {value!r}")
        return value

    @model_validator(mode="after")
    def _keys_match_mode(self) -> TlsSettings:
        given = [name for name in ("cert_file", "key_file") if getattr(self, name) is not None]
        if self.mode == "files" and len(given) != 2:
            raise ValueError("mode 'files' needs both cert_file and key_file")
        if self.mode != "files" and given:
            raise ValueError(f"{' and '.join(given)} only apply to mode 'files' (mode is {self.mode!r})")
        # The acme_* keys, like cert_file, are refused elsewhere: a leftover would be silently ignored.
        acme_given = [name for name in ACME_KEYS if getattr(self, name) is not None]
        if self.mode != "acme" and acme_given:
            verb = "applies" if len(acme_given) == 1 else "apply"
            raise ValueError(f"{' and '.join(acme_given)} only {verb} to mode 'acme' (mode is {self.mode!r})")
        return self

    @field_validator("acme_directory")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        # ACME (RFC 8555) runs over HTTPS only.
        if value is not None and not re.fullmatch(r"https://[^\s/$.?#][^\s]*", value):
            raise ValueError(f"{value!r} is not an https:// URL")
        return value

    @field_validator("acme_email")
    @classmethod
    def _contact(cls, value: str | None) -> str | None:
        return None if value is None else email_address(value)

    @property
    def acme_server(self) -> str:
        """The ACME directory URL certbot talks to (Let's Encrypt's production by default)."""
        return self.acme_directory or LETS_ENCRYPT


class LimitSettings(_Model):
    """Sizes and counts the organisation relies on."""

    max_list_members: int = Field(
        20,
        ge=1,
        le=1000,
        description="Most members (destinations) one distribution list or alias may have.",
        examples=[50],
    )
    max_recipients: int = Field(
        50,
        ge=20,
        le=1000,
        description=(
            "Most recipients one message sent by a user may have (submission ports 587 and 465). "
            "At least 20: the organisation writes to groups of that size."
        ),
        examples=[100],
    )
    max_attachment_mb: int = Field(
        50,
        ge=1,
        le=500,
        description=(
            "Largest attachment, in MiB, that a message may carry. The SMTP size limit is derived "
            "from it (base64 encoding makes a message about 37 % larger than its attachment)."
        ),
        examples=[25],
    )
    default_quota_mb: int = Field(
        0,
        ge=0,
        description="Quota, in MiB, of a mailbox created without an explicit quota (0 = unlimited).",
        examples=[2048],
    )


class StubZone(_Model):
    """A DNS zone the local resolver asks given servers for."""

    zone: str = Field(description="Zone name.", examples=["corp.example"])
    servers: list[str] = Field(min_length=1, description="Addresses of its authoritative servers.",
                               examples=[["192.0.2.53"]])
    trust_anchor: str | None = Field(
        None,
        description=(
            "The zone's DNSSEC key, as a DS or DNSKEY record (`DS 2371 13 2 7d0b...`, the zone's "
            "name in front is optional). With it, the zone's answers are DNSSEC-validated (DANE "
            "works for its mail servers); without it, they are taken as they come."
        ),
        examples=["DS 2371 13 2 7D0B4AF2E2D5A5F4C3B1F0E9D8C7B6A5F4E3D2C1B0A9F8E7D6C5B4A3F2E1D0C9"],
    )

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return normalize_domain(value)

    @field_validator("servers")
    @classmethod
    def _servers(cls, values: list[str]) -> list[str]:
        return [_ip_address(value) for value in values]

    @model_validator(mode="after")
    def _anchor_of_this_zone(self) -> StubZone:
        if self.trust_anchor is not None:
            self.trust_anchor = trustanchor.normalize(self.trust_anchor, self.zone)
        return self


def _ip_address(value: str) -> str:
    """Return `value` as a normalised IP address; raise ValueError if it is not one."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None


class NetworkSettings(_Model):
    """Network trust."""

    mynetworks: list[str] = Field(
        default_factory=lambda: ["127.0.0.0/8", "[::1]/128"],
        description=(
            "Networks whose clients may send mail without authenticating (Postfix `mynetworks`). "
            "Keep it to loopback unless a trusted application server sends through this host. "
            "IPv6 networks are written in brackets: `[2001:db8::]/64`."
        ),
        examples=[["127.0.0.0/8", "[::1]/128", "192.0.2.10/32"]],
    )

    resolver: Literal["local", "system"] = Field(
        "local",
        description=(
            "`local`: a validating DNS resolver (unbound) on 127.0.0.1 that this server uses itself "
            "(/etc/resolv.conf): DNSSEC for DANE, and DNS blocklists, which refuse queries coming "
            "through big public resolvers. `system`: leave /etc/resolv.conf alone."
        ),
        examples=["system"],
    )
    dns_forwarders: list[str] = Field(
        default_factory=list,
        description=(
            "Local resolver only: send queries to these resolvers instead of asking the root servers "
            "(answers are still DNSSEC-validated). Empty: resolve from the root."
        ),
        examples=[["192.0.2.53"]],
    )
    dns_stub_zones: list[StubZone] = Field(
        default_factory=list,
        description=(
            "Local resolver only: zones answered by the given authoritative servers (a split "
            "horizon, or a lab). Their answers are DNSSEC-validated only if `trust_anchor` is given."
        ),
        examples=[[{"zone": "corp.example", "servers": ["192.0.2.53"]}]],
    )
    outbound_mta_sts: bool = Field(
        True,
        description=(
            "Honour the MTA-STS policies (RFC 8461) of the domains this server sends to: where a "
            "domain publishes `mode: enforce`, mail goes out only over TLS to one of its listed MX "
            "hosts with a certificate that a public CA vouches for, and is deferred otherwise "
            "(postfix-mta-sts-resolver). Other domains keep DANE where they publish TLSA records "
            "(network.resolver `local`); a domain that publishes both is held to its MTA-STS policy."
        ),
        examples=[False],
    )

    @field_validator("mynetworks")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        return [_postfix_network(value) for value in values]

    @field_validator("dns_forwarders")
    @classmethod
    def _forwarders(cls, values: list[str]) -> list[str]:
        return [_ip_address(value) for value in values]


def _postfix_network(value: str) -> str:
    """Given a network in Postfix notation, return it normalised; raise ValueError if invalid."""
    text = value.strip()
    bracketed = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](/\d+)?", text)
    try:
        if bracketed:
            network = ipaddress.ip_network(bracketed.group(1) + (bracketed.group(2) or ""), strict=False)
            if network.version != 6:
                raise ValueError
            return f"[{network.network_address}]/{network.prefixlen}"
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not a network (like 192.0.2.0/24 or [2001:db8::]/64)") from None
    if network.version == 6:
        raise ValueError(f"{value!r}: write IPv6 networks in brackets, like [{network.network_address}]/"
                         f"{network.prefixlen}")
    return str(network)


class BackupSettings(_Model):
    """Snapshots of the databases, the mail and /etc/facteur in an encrypted restic repository."""

    schedule: bool = Field(
        True,
        description="Take a snapshot every day at `time` (systemd timer, or cron without systemd).",
        examples=[False],
    )
    time: str = Field(
        "03:30",
        description="Time of day (HH:MM, server time) of the daily snapshot.",
        examples=["01:15"],
    )
    repository: str = Field(
        "/var/backups/facteur/restic",
        description=(
            "restic repository: a local path (better on another disk), or `sftp:user@host:/path`, "
            "`s3:https://host/bucket/path`, `rest:https://host/path`. Its password is the secret "
            "`backup-password`: keep a copy off the machine."
        ),
        examples=["sftp:backup@backup.example.org:/srv/restic/mail"],
    )
    environment_file: str | None = Field(
        None,
        description=(
            "File of KEY=VALUE lines given to restic, for remote repositories' credentials "
            "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...). Keep it mode 0600."
        ),
        examples=["/etc/facteur/backup.env"],
    )
    keep_daily: int = Field(7, ge=1, le=366, description="Daily snapshots kept.", examples=[14])
    keep_weekly: int = Field(4, ge=0, le=520, description="Weekly snapshots kept.", examples=[8])
    keep_monthly: int = Field(6, ge=0, le=600, description="Monthly snapshots kept.", examples=[12])

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a time of day like 03:30")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        text = value.strip()
        if not text.startswith(("/", "local:/", "sftp:", "s3:", "rest:", "b2:", "azure:", "gs:", "swift:",
                                "rclone:")):
            raise ValueError(f"{value!r} is neither an absolute path nor a restic repository URL")
        return text


class CalendarSettings(_Model):
    """Shared calendars and contacts (SOGo: CalDAV, CardDAV, ActiveSync, web calendar) with memcached."""

    enabled: bool = Field(
        True,
        description=(
            "Install SOGo and memcached: web calendar at https://HOSTNAME/SOGo, CalDAV/CardDAV under "
            "/SOGo/dav, ActiveSync at /Microsoft-Server-ActiveSync."
        ),
        examples=[False],
    )
    workers: int = Field(
        3,
        ge=1,
        le=64,
        description=(
            "SOGo worker processes (each serves one request at a time, about 40 MiB idle). Three "
            "serve a small organisation; add one per ~20 users syncing phones over ActiveSync."
        ),
        examples=[5],
    )
    worker_memory_mb: int = Field(
        384,
        ge=128,
        le=4096,
        description="Memory in MiB after which a SOGo worker restarts itself (SxVMemLimit).",
        examples=[512],
    )
    memcached_mb: int = Field(
        64,
        ge=16,
        le=4096,
        description="Memory in MiB of memcached, SOGo's cache (listens on 127.0.0.1 only).",
        examples=[128],
    )
    activesync: bool = Field(
        True,
        description=(
            "Offer ActiveSync (Outlook, phones' built-in Exchange accounts) at "
            "/Microsoft-Server-ActiveSync, announced by autodiscover."
        ),
        examples=[False],
    )


class FilterSettings(_Model):
    """Spam and virus filtering (rspamd as Postfix milter, ClamAV), DKIM signing, sending rate limit."""

    enabled: bool = Field(
        True,
        description=(
            "Filter every message through rspamd (ports 25, 587 and 465, and local submission): spam "
            "scoring, virus scanning, DKIM/ARC signing, rate limit. Off: none of these."
        ),
        examples=[False],
    )
    on_failure: Literal["tempfail", "accept"] = Field(
        "tempfail",
        description=(
            "What happens to a message when rspamd, or ClamAV with `antivirus` on, cannot check it "
            "(stopped, crashed, no virus signatures yet): `tempfail` answers 4xx so the sender "
            "retries later (nothing unchecked gets in), `accept` lets it through unchecked."
        ),
        examples=["accept"],
    )
    reject_score: float = Field(
        15.0,
        gt=0,
        description="rspamd score from which a message is refused during the SMTP session (5xx).",
        examples=[12.0],
    )
    junk_score: float = Field(
        6.0,
        gt=0,
        description=(
            "rspamd score from which a message is probable spam: delivered with X-Spam headers and "
            "filed into the Junk folder. Must be below `reject_score`."
        ),
        examples=[5.0],
    )
    antivirus: bool = Field(
        True,
        description=(
            "Scan every message with ClamAV (clamav-daemon) and refuse infected ones during the SMTP "
            "session. Signatures come from freshclam, which needs internet access."
        ),
        examples=[False],
    )
    max_scan_mb: int | None = Field(
        None,
        ge=1,
        le=1024,
        description=(
            "Largest message, in MiB, that is scanned for viruses; a larger one is passed without "
            "virus scan and marked with an `X-Virus-Scan: skipped, too large` header. Default: the "
            "SMTP size limit (from `limits.max_attachment_mb`), so that every message is scanned."
        ),
        examples=[100],
    )
    dkim_selector: str = Field(
        "facteur",
        description=(
            "DKIM selector of the keys made for each hosted domain: the TXT record is published at "
            "SELECTOR._domainkey.DOMAIN (`facteur dkim show DOMAIN`)."
        ),
        examples=["mail2026"],
    )
    ratelimit_per_hour: int = Field(
        500,
        ge=1,
        le=100000,
        description=(
            "Most messages one authenticated user may send per hour (ports 587 and 465). Beyond "
            "it the message is refused with a temporary error (4xx) that says why."
        ),
        examples=[200],
    )
    ratelimit_users: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Hourly limits of particular users, instead of `ratelimit_per_hour` (a mailing robot "
            "that sends more, a shared account that should send less)."
        ),
        examples=[{"newsletter@example.org": 5000}],
    )
    network_lookups: bool = Field(
        True,
        description=(
            "Ask internet services about each message: DNS blocklists (RBL, SURBL, URIBL) and rspamd's "
            "public fuzzy hash servers. Turn off on a machine without internet access, where each "
            "lookup would only wait for a timeout."
        ),
        examples=[False],
    )
    dns_timeout_s: float = Field(
        1.0,
        gt=0,
        le=30,
        description="Seconds rspamd waits for one DNS answer (SPF, DKIM, DMARC and blocklist lookups).",
        examples=[2.0],
    )
    client_blocklists: list[str] = Field(
        default_factory=list,
        description=(
            "DNS blocklists of sending hosts that Postfix asks before accepting mail from the "
            "internet (port 25 only; users on submission are never checked): a listed client is "
            "refused with 554 and the list's name. Postfix's syntax, optionally with the answers "
            "that count (`zen.spamhaus.org=127.0.0.[2..11]`). Mind each list's terms of use."
        ),
        examples=[["zen.spamhaus.org=127.0.0.[2..11]", "bl.spamcop.net"]],
    )

    @field_validator("client_blocklists")
    @classmethod
    def _blocklists(cls, value: list[str]) -> list[str]:
        value = [entry.strip().lower() for entry in value]
        for entry in value:
            if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+"
                                r"(=[0-9.\[\];]+)?", entry):
                raise ValueError(f"{entry!r} is not a blocklist zone (a DNS name, optionally "
                                 "=ANSWER as in zen.spamhaus.org=127.0.0.[2..11])")
        return value

    @field_validator("dkim_selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        text = value.strip().lower()
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", text):
            raise ValueError(f"{value!r} is not a DKIM selector (letters, digits and dashes)")
        return text

    @field_validator("ratelimit_users")
    @classmethod
    def _users(cls, values: dict[str, int]) -> dict[str, int]:
        result: dict[str, int] = {}
        for address, count in values.items():
            local, at, domain = str(address).strip().lower().rpartition("@")
            if not at or not _LOCAL_PART.match(local):
                raise ValueError(f"{address!r} is not an email address")
            if not isinstance(count, int) or not 1 <= count <= 100000:
                raise ValueError(f"{address}: the limit must be a whole number from 1 to 100000")
            result[f"{local}@{normalize_domain(domain)}"] = count
        return result

    @model_validator(mode="after")
    def _scores(self) -> FilterSettings:
        if self.junk_score >= self.reject_score:
            raise ValueError(
                f"junk_score ({self.junk_score}) must be below reject_score ({self.reject_score})")
        return self


_DURATION = re.compile(r"(\d+)\s*([smhdw]?)")
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(value: str | int) -> int:
    """Given a duration (`90`, `60s`, `10m`, `1h`, `2d`, `1w`), return it in seconds.

    Raise ValueError if it is not one (or is zero)."""
    match = _DURATION.fullmatch(str(value).strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{value!r} is not a duration (like 60s, 10m, 1h or 1d)")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


class SecuritySettings(_Model):
    """Brute-force protection: fail2ban bans an address after repeated failed logins (SMTP AUTH,
    IMAP/POP3, Roundcube, PostfixAdmin)."""

    fail2ban: bool = Field(
        True,
        description=(
            "Run fail2ban with facteur's jails (Postfix SASL, Dovecot, Roundcube, PostfixAdmin). "
            "`false` removes facteur's jails and stops fail2ban."
        ),
        examples=[False],
    )
    max_retry: int = Field(
        5,
        ge=1,
        le=100,
        description="Failed logins from one address, within `find_time`, that get it banned.",
        examples=[10],
    )
    find_time: str = Field(
        "10m",
        description="Window in which `max_retry` failures count: a duration like 600s, 10m, 1h.",
        examples=["30m"],
    )
    ban_time: str = Field(
        "1h",
        description=(
            "How long a banned address stays blocked on the login ports of the service it failed "
            "on: a duration like 60s, 10m, 1h, 1d."
        ),
        examples=["1d"],
    )
    ignore: list[str] = Field(
        default_factory=list,
        description=(
            "Addresses and networks that are never banned (an office, a monitoring host), IPv4 or "
            "IPv6: `192.0.2.10`, `198.51.100.0/24`, `2001:db8::/48`. Loopback is always exempt "
            "(the webmail logs into IMAP and SMTP from it)."
        ),
        examples=[["192.0.2.10", "2001:db8:1::/48"]],
    )

    @field_validator("find_time", "ban_time", mode="before")
    @classmethod
    def _duration(cls, value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(f"{value!r} is not a duration (like 60s, 10m, 1h or 1d)")
        text = str(value).strip().lower()
        if duration_seconds(text) < 10:
            raise ValueError(f"{value!r} is too short (at least 10s)")
        return text

    @field_validator("ignore")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        return [_address_or_network(value) for value in values]


def _address_or_network(value: str) -> str:
    """Given an IPv4/IPv6 address or network (CIDR), return it normalised (an address without /32 or
    /128); raise ValueError if it is neither."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an address or network (like 192.0.2.10, 198.51.100.0/24 "
                         "or 2001:db8::/48)") from None
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)
class MonitoringSettings(_Model):
    """Prometheus, Alertmanager and exporters (all on 127.0.0.1): preset alerts mailed to the admin."""

    enabled: bool = Field(
        True,
        description="Install and run the monitoring stack (Prometheus, Alertmanager, exporters).",
        examples=[False],
    )
    scrape_interval: str = Field(
        "30s",
        description="How often Prometheus collects the metrics (a duration: 15s, 1m).",
        examples=["1m"],
    )
    evaluation_interval: str = Field(
        "30s",
        description="How often the alert rules are evaluated (a duration).",
        examples=["1m"],
    )
    alert_after: str = Field(
        "2m",
        description=(
            "How long a service must stay down (or a condition true) before its alert fires: "
            "avoids mails for a restart."
        ),
        examples=["5m"],
    )
    group_wait: str = Field(
        "30s",
        description="Alertmanager waits this long after a first alert to send one mail for its group.",
        examples=["1m"],
    )
    group_interval: str = Field(
        "5m",
        description="Alertmanager's delay before mailing changes (new or resolved alerts) of a group.",
        examples=["10m"],
    )
    repeat_interval: str = Field(
        "4h",
        description="An alert still firing is mailed again after this long.",
        examples=["12h"],
    )
    retention: str = Field(
        "15d",
        description="How long Prometheus keeps the metrics.",
        examples=["30d"],
    )
    alert_email: str | None = Field(
        None,
        description=(
            "Where alerts are mailed (through the local Postfix). Default: admin_email."
        ),
        examples=["ops@example.org"],
    )
    webhook_url: str | None = Field(
        None,
        description="Also send alerts to this URL (Alertmanager's webhook JSON), e.g. a chat bridge.",
        examples=["https://hooks.example.org/alertmanager"],
    )
    web: Literal["proxy", "localhost"] = Field(
        "proxy",
        description=(
            "`proxy`: the Prometheus UI at https://HOSTNAME/monitoring/ behind a password (user "
            "`admin`, the secret `monitoring-password`); `localhost`: only on 127.0.0.1:9090 (reach "
            "it through an SSH tunnel)."
        ),
        examples=["localhost"],
    )
    disk_threshold_percent: int = Field(
        85, ge=10, le=99,
        description="Alert when a filesystem is fuller than this (percent).",
        examples=[90],
    )
    certificate_days: int = Field(
        14, ge=1, le=90,
        description="Alert when a served certificate expires within this many days.",
        examples=[21],
    )
    backup_max_age_hours: int = Field(
        26, ge=1, le=24 * 30,
        description="Alert when the last successful backup is older than this (hours).",
        examples=[50],
    )
    clamav_max_age_days: int = Field(
        3, ge=1, le=60,
        description="Alert when ClamAV's signatures (if ClamAV is installed) are older than this (days).",
        examples=[7],
    )
    rspamd: bool = Field(
        False,
        description="Also collect rspamd's metrics (127.0.0.1:11334/metrics); needs rspamd installed.",
        examples=[True],
    )

    @field_validator("scrape_interval", "evaluation_interval", "alert_after", "group_wait", "group_interval",
                     "repeat_interval", "retention")
    @classmethod
    def _duration(cls, value: str) -> str:
        seconds = duration_seconds(value)
        return prometheus_duration(seconds)

    @field_validator("alert_email")
    @classmethod
    def _alert_email(cls, value: str | None) -> str | None:
        return None if value is None else email_address(value)

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip()
        if not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", text):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return text


def prometheus_duration(seconds: int) -> str:
    """Given seconds, return the shortest Prometheus duration for it (`90s`, `5m`, `2h`, `15d`)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class Settings(_Model):
    """facteur's configuration: /etc/facteur/facteur.yml."""

    hostname: str = Field(
        "mail.example.test",
        description=(
            "Fully qualified name of this mail server: the name in its certificate, in the SMTP "
            "greeting, and the MX target of every hosted domain."
        ),
        examples=["mail.example.org"],
    )
    domains: list[str] = Field(
        default_factory=lambda: ["example.test"],
        min_length=1,
        description=(
            "Mail domains hosted here (at least one). The first one is the main domain. More can be "
            "added later with `facteur domain add`."
        ),
        examples=[["example.org", "example.com"]],
    )
    alias_domains: list[AliasDomain] = Field(
        default_factory=list,
        description="Domains that mirror a hosted domain: USER@alias is delivered to USER@target.",
        examples=[[{"alias": "example.net", "target": "example.org"}]],
    )
    admin_email: str | None = Field(
        None,
        description=(
            "Address of the administrator: PostfixAdmin superadmin login and postmaster mailbox. "
            "Must be in a hosted domain. Default: postmaster@ the first domain."
        ),
        examples=["postmaster@example.org"],
    )
    locale: Literal["en", "fr"] = Field(
        "en",
        description="Language of the web interfaces and of generated messages: `en` or `fr`.",
        examples=["fr"],
    )
    timezone: str = Field(
        "UTC",
        description="Time zone of the server (tz database name).",
        examples=["Europe/Paris"],
    )
    tls: TlsSettings = Field(
        default_factory=TlsSettings,
        description="Certificates used by every TLS service.",
        examples=[{"mode": "selfsigned"}],
    )
    limits: LimitSettings = Field(
        default_factory=LimitSettings,
        description="Sizes and counts.",
        examples=[{"max_attachment_mb": 25}],
    )
    network: NetworkSettings = Field(
        default_factory=NetworkSettings,
        description="Network trust.",
        examples=[{"mynetworks": ["127.0.0.0/8", "[::1]/128"]}],
    )
    backup: BackupSettings = Field(
        default_factory=BackupSettings,
        description="Backups (restic): schedule, repository, retention.",
        examples=[{"repository": "/srv/backup/restic", "time": "02:00"}],
    )
    security: SecuritySettings = Field(
        default_factory=SecuritySettings,
        description=(
            "Brute-force protection (fail2ban): failures before a ban, window, ban length, exemptions."
        ),
        examples=[{"ban_time": "1d", "ignore": ["192.0.2.10"]}],
    )
    filter: FilterSettings = Field(
        default_factory=FilterSettings,
        description="Spam and virus filtering, DKIM signing and the sending rate limit (rspamd, ClamAV).",
        examples=[{"on_failure": "tempfail", "ratelimit_per_hour": 200}],
    )
    monitoring: MonitoringSettings = Field(
        default_factory=MonitoringSettings,
        description="Monitoring: Prometheus, exporters and alert mails to the administrator.",
        examples=[{"web": "localhost", "disk_threshold_percent": 90}],
    )
    calendar: CalendarSettings = Field(
        default_factory=CalendarSettings,
        description="Shared calendars and contacts (SOGo): CalDAV, CardDAV, ActiveSync, web calendar.",
        examples=[{"workers": 5, "activesync": False}],
    )

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str) -> str:
        return normalize_domain(value)

    @field_validator("domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        names = [normalize_domain(value) for value in values]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"listed more than once: {', '.join(duplicates)}")
        return names

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if not _TIMEZONE.match(value) or ".." in value:
            raise ValueError(f"{value!r} is not a time zone name (like UTC or Europe/Paris)")
        return value

    @field_validator("admin_email")
    @classmethod
    def _email_syntax(cls, value: str | None) -> str | None:
        return None if value is None else email_address(value)

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        hosted = set(self.domains)
        aliases: set[str] = set()
        for entry in self.alias_domains:
            if entry.alias in hosted:
                raise ValueError(f"alias_domains: {entry.alias} is also in domains")
            if entry.target not in hosted:
                raise ValueError(f"alias_domains: target {entry.target} of {entry.alias} is not in domains")
            if entry.alias in aliases:
                raise ValueError(f"alias_domains: {entry.alias} is listed more than once")
            aliases.add(entry.alias)
        if self.admin_email is None:
            self.admin_email = f"postmaster@{self.domains[0]}"
        elif self.admin_email.rpartition("@")[2] not in hosted:
            raise ValueError(
                f"admin_email {self.admin_email} is not in a hosted domain ({', '.join(self.domains)})"
            )
        if self.monitoring.alert_email is None:
            self.monitoring.alert_email = self.admin_email
        return self
