"""Progress messages of the harness, shown live even while pytest captures output."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

_sink: Callable[[str], None] | None = None


def set_sink(sink: Callable[[str], None] | None) -> None:
    """Route messages to `sink` (pytest's terminal reporter); None restores the real stderr."""
    global _sink
    _sink = sink


def info(message: str) -> None:
    """Show `[facteur-tests HH:MM:SS] message` on the terminal, past pytest's capture."""
    line = f"[facteur-tests {time.strftime('%H:%M:%S')}] {message}"
    if _sink is not None:
        _sink(line)
        return
    stream = sys.__stderr__ or sys.stderr
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):  # closed stream at interpreter exit
        pass


note = info


def tail(text: str, lines: int = 40) -> str:
    """Return the last `lines` lines of `text` (for failure reports)."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])
