"""Run a command on the host with an argv list; failures carry the command's output."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from . import log


class CommandError(subprocess.CalledProcessError):
    """A command exited non-zero; str() includes the tail of its output."""

    def __str__(self) -> str:
        text = super().__str__()
        for name, stream in (("stdout", self.stdout), ("stderr", self.stderr)):
            if stream:
                if isinstance(stream, bytes):
                    stream = stream.decode(errors="replace")
                text += f"\n--- {name} (last lines) ---\n{log.tail(stream, 40)}"
        return text


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float | None = 120,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` (never through a shell), capture text output, raise CommandError if check fails."""
    cp = subprocess.run(
        list(argv),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if check and cp.returncode != 0:
        raise CommandError(cp.returncode, list(argv), cp.stdout, cp.stderr)
    return cp
