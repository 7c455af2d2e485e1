"""Errors shown to the user: one line, one exit code, never a traceback."""


class FacteurError(Exception):
    """A failure the user can act on.

    Given a one-line `message` and an `exit_code`, the CLI prints `facteur: error: MESSAGE` on stderr
    and exits with that code.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class ConfigError(FacteurError):
    """The configuration file is unreadable or invalid (exit code 2; nothing was touched)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message, exit_code)


def last_line(text: str | None) -> str:
    """Return the last non-blank line of a command's output (its error, usually), or "no output"."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
