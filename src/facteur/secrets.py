"""Generate-once secrets under /etc/facteur/secrets (dir 0700, one file 0600 per secret).

Values are 32 letters and digits: safe to paste unquoted into PHP, SQL, Postfix and Dovecot files.
They are never logged or printed here; roles read them with `lookup('file', ...)` on the controller.
"""

from __future__ import annotations

import os
import secrets as _random
import string
from pathlib import Path

from facteur.errors import FacteurError

DEFAULT_SECRETS_DIR = Path("/etc/facteur/secrets")

# The names docs/development.md lists; each is one file in the secrets dir.
SECRET_NAMES: tuple[str, ...] = (
    "admin-password",
    "postfixadmin-setup-password",
    "mariadb-postfixadmin",
    "mariadb-postfix",
    "mariadb-dovecot",
    "mariadb-facteur",
    "mariadb-roundcube",
    "mariadb-sogo",
    "roundcube-des-key",
    "backup-password",
    "mariadb-roundcube-password",
    "mariadb-exporter",
    "monitoring-password",
)

_ALPHABET = string.ascii_letters + string.digits
_LENGTH = 32


def secrets_dir(path: Path | str | None = None) -> Path:
    """Return the secrets directory: `path` if given, else $FACTEUR_SECRETS_DIR, else /etc/facteur/secrets."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("FACTEUR_SECRETS_DIR") or DEFAULT_SECRETS_DIR)


def generate(length: int = _LENGTH) -> str:
    """Return a new random secret of `length` letters and digits."""
    return "".join(_random.choice(_ALPHABET) for _ in range(length))


def ensure(secrets_dir: Path | str | None = None, names: tuple[str, ...] = SECRET_NAMES) -> dict[str, Path]:
    """Make every secret in `names` exist in the secrets dir; return {name: file} for those this call
    created (empty when all existed).

    Existing secrets are never changed (so a second install changes nothing). The directory is made
    (or tightened to) 0700, new files are 0600 and appear atomically. Raise FacteurError if the
    directory cannot be written.
    """
    directory = _resolve(secrets_dir)
    created: dict[str, Path] = {}
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        for name in names:
            if _create(directory, name):
                created[name] = directory / name
    except OSError as exc:
        raise FacteurError(f"cannot write secrets in {directory}: {exc.strerror or exc}") from None
    return created


def read(name: str, secrets_dir: Path | str | None = None) -> str:
    """Return the secret `name` (without trailing newline); raise FacteurError if it does not exist."""
    file = _resolve(secrets_dir) / name
    try:
        return file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise FacteurError(f"secret {file} is missing (run `facteur install` first)") from None
    except OSError as exc:
        raise FacteurError(f"cannot read secret {file}: {exc.strerror or exc}") from None


# ensure() and read() take a `secrets_dir` argument that hides the function of that name.
_resolve = secrets_dir


def _create(directory: Path, name: str) -> bool:
    """Create `directory/name` with a new value unless it exists; return True if this call made it."""
    final = directory / name
    if final.exists():
        return False
    temporary = directory / f".{name}.{os.getpid()}.tmp"
    temporary.unlink(missing_ok=True)  # left over by a run killed midway that had our pid
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(generate() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # link() fails if another run created the secret meanwhile: the first value wins, whole.
        try:
            os.link(temporary, final)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)
