"""Small helpers shared by the day-2 command modules (facteur.cli.domain, mailbox, alias, lists,
status, check): the --config option, settings loading, JSON and table output."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from collections.abc import Sequence
from typing import Any


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add `--config PATH` (default: $FACTEUR_CONFIG or /etc/facteur/facteur.yml) to `parser`."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help="configuration file (default: $FACTEUR_CONFIG or /etc/facteur/facteur.yml)",
    )


def load_settings(args: argparse.Namespace) -> Any:
    """Return the Settings of the file named by `args.config` (if any); ConfigError if invalid."""
    from facteur.config.load import load_settings as _load

    return _load(getattr(args, "config", None))


def _default(value: Any) -> Any:
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat(sep=" ") if isinstance(value, _dt.datetime) else value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    """Return `data` as indented JSON (dates as ISO text)."""
    return json.dumps(data, indent=2, default=_default, ensure_ascii=False)


def print_json(data: Any) -> None:
    """Print `data` as JSON on standard output."""
    print(dumps(data))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """Return `rows` as a plain text table with `headers`, columns left-aligned, two spaces apart."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    return "\n".join(lines)


def say(message: str) -> None:
    """Print a one-line confirmation on standard output."""
    print(message)


def note(message: str) -> None:
    """Print a one-line remark on standard error (does not change the exit code)."""
    print(f"facteur: note: {message}", file=sys.stderr)
