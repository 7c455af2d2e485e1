"""Entry point of the `facteur` command.

Each command lives in its own module under facteur.cli, listed in COMMAND_MODULES; a module exposes
`register(subparsers)`, which adds its parser(s) and sets `handler=function(args) -> int` as a default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from facteur import __version__
from facteur.errors import FacteurError

# The dispatch table: order is the order of `facteur --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "install",
    "config_cmd",
    "domain",
    "mailbox",
    "alias",
    "lists",
    "dns_cmd",
    "dkim",
    "certificate",
    "status",
    "check",
    "backup",
)


def _load_command_modules() -> list:
    """Return the command modules that exist.

    A module that is not written yet is skipped, so the tree keeps working while commands are
    added; any other import error (a bug inside an existing module) is raised.
    """
    modules = []
    for name in COMMAND_MODULES:
        full = f"facteur.cli.{name}"
        try:
            modules.append(importlib.import_module(full))
        except ModuleNotFoundError as exc:
            if exc.name != full:
                raise
    return modules


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every available command registered."""
    parser = argparse.ArgumentParser(
        prog="facteur",
        description="Install and run a complete mail system on Debian.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("--version", action="version", version=f"facteur {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _load_command_modules():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default sys.argv[1:]) and return the exit code.

    FacteurError becomes one `facteur: error: MESSAGE` line and its exit code; any other exception
    one line plus a hint about --debug (exit 1); Ctrl-C exits 130.
    """
    argv, debug = _take_debug(list(sys.argv[1:] if argv is None else argv))
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        args.debug = debug
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return 2
        return int(handler(args) or 0)
    except FacteurError as exc:
        if debug:
            traceback.print_exc()
        print(f"facteur: error: {_one_line(exc.message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("facteur: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `facteur config sample | head`: the reader left, nothing to report.
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for the user
        if debug:
            traceback.print_exc()
        print(
            f"facteur: error: {_one_line(f'{type(exc).__name__}: {exc}')} (run with --debug for details)",
            file=sys.stderr,
        )
        return 1


def _take_debug(argv: list[str]) -> tuple[list[str], bool]:
    """Return `argv` without --debug, and whether it was there.

    --debug is global: accepted anywhere before `--` (`facteur install --debug` too), and known even
    if building the parser fails (a broken command module).
    """
    end = argv.index("--") if "--" in argv else len(argv)
    head = [arg for arg in argv[:end] if arg != "--debug"]
    return head + argv[end:], len(head) != end


def _one_line(text: str) -> str:
    """Return `text` folded onto one line (messages may quote multi-line output)."""
    return " ".join(str(text).split())


if __name__ == "__main__":
    sys.exit(main())
