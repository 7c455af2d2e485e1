"""Validation of addresses, domains and sizes for day-2 commands (pure functions, no database).

PostfixAdmin's tables are latin1 and its address columns hold ASCII only, so:
- domain names are lower-cased; an internationalised name is converted to its xn-- (punycode) form,
  and refused when that conversion would change its characters (IDNA 2003 folds ß to ss, for example);
- local parts of mailboxes and alias sources are ASCII letters, digits, `.`, `_` and `-` (no `+`: it is
  Postfix's recipient delimiter, alice+tag@ is delivered to alice@); they are also directory names
  under /var/vmail, so nothing else is allowed there;
- destinations of aliases and lists may be any ASCII address (RFC 5322 dot-atom, `+` allowed),
  at home or elsewhere.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from facteur.errors import FacteurError

MIB = 1024 * 1024

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Mailboxes and alias sources: safe as a directory name and in every lookup.
_LOCAL_STRICT = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
# Destinations: RFC 5322 dot-atom (ASCII).
_LOCAL_ATOM = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_UNITS = {
    "": MIB,
    "m": MIB,
    "mb": MIB,
    "mib": MIB,
    "g": 1024 * MIB,
    "gb": 1024 * MIB,
    "gib": 1024 * MIB,
    "t": 1024 * 1024 * MIB,
    "tb": 1024 * 1024 * MIB,
    "tib": 1024 * 1024 * MIB,
}
# Largest quota accepted: 1 PiB (MariaDB's BIGINT holds far more; this catches typos).
MAX_QUOTA_BYTES = 1024**5


def normalize_domain(value: str) -> str:
    """Given a domain name, return it lower-case ASCII (xn-- form for an IDN) without a trailing dot.

    Raise FacteurError if it is not a valid name: at least two labels of letters, digits and inner
    hyphens (1-63 characters each), at most 253 characters, not ending in a number.
    """
    text = (value or "").strip()
    name = unicodedata.normalize("NFC", text).lower().removesuffix(".")
    if not name:
        raise FacteurError("a domain name is required (like example.org)")
    if not name.isascii():
        name = _to_punycode(name, text)
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise FacteurError(f"{text!r} is not a valid domain name (like example.org)")
    if labels[-1].isdigit():
        raise FacteurError(f"{text!r} is not a valid domain name (the last label is a number)")
    return name


def _to_punycode(name: str, original: str) -> str:
    """Return the xn-- form of an internationalised `name`; refuse names that IDNA would alter."""
    try:
        ascii_name = name.encode("idna").decode("ascii")
        back = ascii_name.encode("ascii").decode("idna")
    except UnicodeError:
        raise FacteurError(f"{original!r} is not a valid domain name") from None
    if back != name:
        raise FacteurError(
            f"{original!r} is an internationalised name that cannot be converted safely: "
            "give its xn-- (punycode) form"
        )
    return ascii_name


def _split(value: str) -> tuple[str, str, str]:
    text = (value or "").strip()
    local, at, domain = text.rpartition("@")
    if not at or not domain:
        raise FacteurError(f"{text!r} is not an email address (like alice@example.org)")
    return text, local, domain


def normalize_address(value: str) -> str:
    """Given a mailbox or alias address, return it lower-cased (domain in xn-- form).

    The local part is ASCII letters, digits, `.`, `_` and `-`, at most 64 characters, no leading,
    trailing or double dot; `+` is refused because it is the address-extension delimiter.
    Raise FacteurError if the address is not valid.
    """
    text, local, domain = _split(value)
    local = local.lower()
    if "+" in local:
        raise FacteurError(
            f"{text!r}: '+' is reserved for address extensions (mail to alice+news@ reaches alice@)"
        )
    if not local or len(local) > 64 or not _LOCAL_STRICT.match(local):
        raise FacteurError(
            f"{text!r} is not a valid address: the part before @ may hold letters, digits, "
            "'.', '_' and '-' (at most 64)"
        )
    address = f"{local}@{normalize_domain(domain)}"
    if len(address) > 254:
        raise FacteurError(f"{text!r} is too long (at most 254 characters)")
    return address


def normalize_destination(value: str) -> str:
    """Given the destination of an alias or list (here or elsewhere), return it lower-cased.

    Any RFC 5322 dot-atom local part is accepted (`+` included). Raise FacteurError if invalid.
    """
    text, local, domain = _split(value)
    local = local.lower()
    if not local or len(local) > 64 or not local.isascii() or not _LOCAL_ATOM.match(local):
        raise FacteurError(f"{text!r} is not a valid email address")
    address = f"{local}@{normalize_domain(domain)}"
    if len(address) > 254:
        raise FacteurError(f"{text!r} is too long (at most 254 characters)")
    return address


def normalize_alias_source(value: str) -> str:
    """Given an alias source, return it normalised: an address, or `@domain` for a catch-all."""
    text = (value or "").strip()
    if text.startswith("@"):
        return "@" + normalize_domain(text[1:])
    return normalize_address(text)


def domain_of(address: str) -> str:
    """Return the domain part of a normalised address or `@domain` catch-all."""
    return address.rpartition("@")[2]


def local_of(address: str) -> str:
    """Return the local part of a normalised address."""
    return address.rpartition("@")[0]


def parse_size(value: str) -> int:
    """Given a size such as `500M`, `2G`, `1.5G`, `2048` (MiB) or `0` (unlimited), return bytes.

    Units are binary: M/MB/MiB = 1024² bytes, G = 1024 M, T = 1024 G; a number without a unit is in
    MiB (PostfixAdmin's unit). The result is a whole number of MiB. Raise FacteurError otherwise.
    """
    text = str(value).strip()
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else None
    if not match or unit not in _UNITS:
        raise FacteurError(f"{text!r} is not a size (like 500M, 2G or 0 for unlimited)")
    try:
        amount = Decimal(match.group(1)) * _UNITS[unit]
    except InvalidOperation:
        raise FacteurError(f"{text!r} is not a size (like 500M, 2G or 0 for unlimited)") from None
    if amount != amount.to_integral_value() or int(amount) % MIB:
        raise FacteurError(f"{text!r}: sizes are counted in whole MiB (like 1536M)")
    size = int(amount)
    if size > MAX_QUOTA_BYTES:
        raise FacteurError(f"{text!r} is too large (at most 1024T)")
    return size


def format_size(size: int) -> str:
    """Return a byte count as text for people: `unlimited` for 0, else `2 GiB`, `1.5 GiB`, `500 MiB`."""
    if not size:
        return "unlimited"
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", MIB)):
        if size >= factor:
            value = size / factor
            text = f"{value:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    return f"{size} B"


def normalize_name(value: str) -> str:
    """Return a person's name for a mailbox, stripped; FacteurError if over 255 characters or if it
    holds control characters."""
    name = (value or "").strip()
    if len(name) > 255:
        raise FacteurError("the name is too long (at most 255 characters)")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise FacteurError("the name contains control characters")
    return name
