"""Health checks for `facteur status` and `facteur check`.

Each check returns a CheckResult: a name, a status (ok | warning | error), a one-line summary and,
when something is wrong, a hint that tells the administrator exactly what to run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

OK = "ok"
WARNING = "warning"
ERROR = "error"
STATUSES = (OK, WARNING, ERROR)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check. `fix_hint` is shown only when the status is not ok."""

    name: str
    status: str
    summary: str
    fix_hint: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def format_result(result: CheckResult, name_width: int = 10) -> str:
    """Return one line: `ok       postfix    running` or `error    dovecot    not running — fix: ...`."""
    line = f"{result.status:<8} {result.name:<{name_width}} {result.summary}"
    if result.status != OK and result.fix_hint:
        line += f" — fix: {result.fix_hint}"
    return line


def format_results(results: Iterable[CheckResult]) -> list[str]:
    """Return the lines of `results`, names aligned on the longest one (at least 10 wide)."""
    results = list(results)
    width = max([10, *(len(r.name) for r in results)])
    return [format_result(r, width) for r in results]


def exit_code(results: Iterable[CheckResult]) -> int:
    """Return 1 if any result is an error, else 0 (warnings do not fail)."""
    return 1 if any(r.status == ERROR for r in results) else 0


def to_json(results: Iterable[CheckResult]) -> dict:
    """Return {"ok": bool, "errors": n, "warnings": n, "checks": [...]} for --json output."""
    results = list(results)
    return {
        "ok": exit_code(results) == 0,
        "errors": sum(r.status == ERROR for r in results),
        "warnings": sum(r.status == WARNING for r in results),
        "checks": [r.to_dict() for r in results],
    }
