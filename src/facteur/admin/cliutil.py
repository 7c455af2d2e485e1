"""Small helpers shared by the day-2 command modules (facteur.cli.domain, mailbox, alias, lists, ...)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from typing import Any


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add `--config PATH` (default: $FACTEUR_CONFIG, then /etc/facteur/facteur.yml, then demo defaults)."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help="facteur configuration file (default: /etc/facteur/facteur.yml)",
    )


def load_settings(args: argparse.Namespace) -> Any:
    """Return the validated Settings named by `args.config` (FacteurError/ConfigError if invalid)."""
    from facteur.config.load import load_settings as _load

    return _load(getattr(args, "config", None))


def max_list_members(settings: Any) -> int:
    return int(settings.limits.max_list_members)


def default_quota_bytes(settings: Any) -> int:
    return int(getattr(settings.limits, "default_quota_mb", 0) or 0) * 1024 * 1024


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    raise TypeError(f"not serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    """Print `data` as indented JSON on stdout (dates as ISO strings)."""
    json.dump(data, sys.stdout, indent=2, default=_default, ensure_ascii=False)
    sys.stdout.write("\n")


def print_table(rows: list[list[str]], headers: list[str]) -> None:
    """Print left-aligned columns; nothing but the header if `rows` is empty."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(cell))) for w, cell in zip(widths, row, strict=True)]
    for row in [headers, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def warn(message: str) -> None:
    print(f"facteur: warning: {message}", file=sys.stderr)
