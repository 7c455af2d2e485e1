"""DKIM keys of the hosted domains, used by rspamd to sign outgoing mail (and ARC-seal incoming).

One 2048-bit RSA key per domain and selector: /etc/facteur/dkim/DOMAIN.SELECTOR.key (PEM,
root:_rspamd 0640), made once. /etc/facteur/dkim/selectors.map (rspamd's selector_map) has a line
`DOMAIN SELECTOR` for each signed domain: `filter.dkim_selector` when its key was made, a new one
after `facteur dkim rotate`. rspamd signs only the domains listed there.
"""

from __future__ import annotations

import base64
import datetime as _dt
import grp
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from facteur.admin.validate import normalize_domain
from facteur.errors import FacteurError

KEY_BITS = 2048
GROUP = "_rspamd"
MAP_NAME = "selectors.map"


def dkim_dir() -> Path:
    """Return the key directory: $FACTEUR_DKIM_DIR or /etc/facteur/dkim."""
    return Path(os.environ.get("FACTEUR_DKIM_DIR", "/etc/facteur/dkim"))


def key_path(domain: str, selector: str, directory: Path | None = None) -> Path:
    return (directory or dkim_dir()) / f"{domain}.{selector}.key"


def read_selector_map(directory: Path | None = None) -> dict[str, str]:
    """Return {domain: selector} from the selector map (empty if the file does not exist)."""
    path = (directory or dkim_dir()) / MAP_NAME
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    result: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) == 2:
            result[fields[0].lower()] = fields[1]
    return result


def current_selector(domain: str, default: str, directory: Path | None = None) -> str:
    """Return the selector rspamd signs `domain` with: the map's entry, else `default`."""
    return read_selector_map(directory).get(domain, default)


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, mode 0640, group _rspamd when that group exists."""
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    try:
        gid = grp.getgrnam(GROUP).gr_gid
    except KeyError:
        gid = -1
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o640)
        if gid != -1 and os.geteuid() == 0:
            os.fchown(fd, 0, gid)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def ensure_key(domain: str, selector: str, directory: Path | None = None) -> bool:
    """Make sure `domain` has a signing key and a line in the selector map; return True if a key
    was made. A domain already in the map keeps its selector (`selector` is for new domains).

    rspamd signs only the domains of the map, so a domain without a key is never signed."""
    directory = directory or dkim_dir()
    domain = normalize_domain(domain)
    mapping = read_selector_map(directory)
    selector = mapping.get(domain, selector)
    path = key_path(domain, selector, directory)
    made = False
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        _write_private(path, pem)
        made = True
    if mapping.get(domain) != selector:
        mapping[domain] = selector
        _write_map(mapping, directory)
        reload_rspamd()
    return made


def _write_map(mapping: dict[str, str], directory: Path) -> None:
    text = "# Written by facteur (facteur.dkim): DOMAIN SELECTOR, rspamd's DKIM selector_map.\n"
    text += "".join(f"{d} {s}\n" for d, s in sorted(mapping.items()))
    _write_private(directory / MAP_NAME, text.encode())


def public_key_b64(domain: str, selector: str, directory: Path | None = None) -> str:
    """Return the base64 SubjectPublicKeyInfo of the key; FacteurError if there is no key."""
    path = key_path(domain, selector, directory)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise FacteurError(
            f"no DKIM key for {domain} (selector {selector}): is it hosted here? "
            f"(facteur domain add {domain})") from None
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def txt_value(domain: str, selector: str, directory: Path | None = None) -> str:
    """Return the TXT record's text: `v=DKIM1; k=rsa; p=...`."""
    return f"v=DKIM1; k=rsa; p={public_key_b64(domain, selector, directory)}"


def zone_line(domain: str, selector: str, directory: Path | None = None) -> str:
    """Return the record as a zone file line, the text cut in strings of at most 255 characters."""
    from facteur.dns.records import quote_txt  # one TXT quoting rule for `facteur dkim` and `facteur dns`

    return f"{selector}._domainkey.{domain}. IN TXT ( {quote_txt(txt_value(domain, selector, directory))} )"


def rotate(domain: str, base_selector: str, directory: Path | None = None,
           today: _dt.date | None = None) -> str:
    """Make a new key for `domain` under a new selector (BASE-YYYYMMDD, then -2, -3... the same day),
    make rspamd sign with it (selector map), and return the new selector. The old key stays, so
    that the old record can be kept published while mail signed with it is in transit."""
    directory = directory or dkim_dir()
    domain = normalize_domain(domain)
    current = current_selector(domain, base_selector, directory)
    if not key_path(domain, current, directory).exists():
        raise FacteurError(f"no DKIM key for {domain}: is it hosted here? (facteur domain list)")
    stamp = (today or _dt.date.today()).strftime("%Y%m%d")
    selector, n = f"{base_selector}-{stamp}", 1
    while key_path(domain, selector, directory).exists():
        n += 1
        selector = f"{base_selector}-{stamp}-{n}"
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    _write_private(key_path(domain, selector, directory),
                   key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    mapping = read_selector_map(directory)
    mapping[domain] = selector
    _write_map(mapping, directory)
    reload_rspamd()
    return selector


def reload_rspamd() -> None:
    """Ask a running rspamd to reload its configuration and maps (best effort)."""
    for argv in (["systemctl", "reload", "rspamd"], ["service", "rspamd", "reload"]):
        if shutil.which(argv[0]) is None:
            continue
        if argv[0] == "systemctl" and not os.path.isdir("/run/systemd/system"):
            continue
        try:
            subprocess.run(argv, capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass
        return
