"""Password hashing in the one format every component verifies, and reading passwords safely.

Format: `{BLF-CRYPT}$2y$10$<53 characters>` — bcrypt (cost 10) with Dovecot's scheme prefix.
- PostfixAdmin (`$CONF['encrypt'] = 'php_crypt:BLOWFISH:10:{BLF-CRYPT}'`) writes exactly this and its
  pacrypt() verifies it (it strips the `{...}` prefix and calls crypt());
- Dovecot (scheme BLF-CRYPT) verifies it natively, prefix or not;
- Roundcube's password plugin writes it with `password_algorithm = 'blowfish-crypt'` and
  `password_algorithm_prefix = '{BLF-CRYPT}'`.
The `bcrypt` package emits `$2b$`; PHP's own bcrypt emits `$2y$`. Both name the same algorithm (the
fixed OpenBSD/crypt_blowfish one); `$2y$` is written so that every hash looks like PostfixAdmin's.

Passwords never appear in argv, in output, in logs or in error messages.
"""

from __future__ import annotations

import getpass
import sys
from typing import TextIO

import bcrypt

from facteur.errors import FacteurError

SCHEME_PREFIX = "{BLF-CRYPT}"
BCRYPT_COST = 10
MIN_LENGTH = 8
# bcrypt only reads the first 72 bytes; the bcrypt package refuses longer input.
MAX_BYTES = 72


def check_policy(password: str) -> None:
    """Raise FacteurError if `password` is empty, shorter than 8 characters, longer than 72 bytes
    (bcrypt's limit) or holds control characters. The message never contains the password."""
    if not password:
        raise FacteurError("the password is empty")
    if len(password) < MIN_LENGTH:
        raise FacteurError(f"the password is too short: at least {MIN_LENGTH} characters")
    if len(password.encode("utf-8")) > MAX_BYTES:
        raise FacteurError(f"the password is too long: at most {MAX_BYTES} bytes (bcrypt's limit)")
    if any(ord(char) < 32 or ord(char) == 127 for char in password):
        raise FacteurError("the password contains control characters")


def hash_password(password: str, cost: int = BCRYPT_COST) -> str:
    """Given a password that passes check_policy(), return `{BLF-CRYPT}$2y$<cost>$...`."""
    check_policy(password)
    hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=cost)).decode("ascii")
    if hashed.startswith("$2b$"):
        hashed = "$2y$" + hashed[4:]
    return SCHEME_PREFIX + hashed


def verify_password(password: str, stored: str) -> bool:
    """Return True if `password` matches `stored` (`{BLF-CRYPT}$2y$...`, or bare `$2y$`/`$2b$`/`$2a$`)."""
    hashed = stored.removeprefix(SCHEME_PREFIX)
    if not hashed.startswith(("$2a$", "$2b$", "$2y$")):
        return False
    try:
        return bcrypt.checkpw(password.encode("utf-8"), ("$2b$" + hashed[4:]).encode("ascii"))
    except ValueError:
        return False


def read_password(stream: TextIO | None = None, *, prompt: bool = True) -> str:
    """Return a password read from `stream` (default standard input) and checked by check_policy().

    Piped input: one line, its trailing newline (and carriage return) removed. On a terminal (when
    `prompt`), ask twice without echo and require both to match. Raise FacteurError on end of input,
    a mismatch or a password the policy refuses.
    """
    stream = sys.stdin if stream is None else stream
    if prompt and stream.isatty():
        first = getpass.getpass("Password: ")
        check_policy(first)
        if getpass.getpass("Password (again): ") != first:
            raise FacteurError("the two passwords differ")
        return first
    line = stream.readline()
    if not line:
        raise FacteurError("no password on standard input (pipe one line into --password-stdin)")
    password = line.removesuffix("\n").removesuffix("\r")
    check_policy(password)
    return password
