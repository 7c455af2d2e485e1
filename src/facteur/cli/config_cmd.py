"""`facteur config sample | check | show`: the configuration file, without touching the machine."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from facteur.config.load import config_path, load_settings
from facteur.config.sample import render_sample


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="print a sample config, check or show the config",
                                   description="Work with /etc/facteur/facteur.yml.")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)

    sample = actions.add_parser("sample", help="print a commented sample config with every key")
    sample.set_defaults(handler=sample_cmd)

    for name, handler, text in (
        ("check", check_cmd, "validate the config file (prints ok, or one line naming the bad key)"),
        ("show", show_cmd, "print the effective settings (defaults filled in) as YAML"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("--config", type=Path, metavar="PATH",
                         help="configuration file (default: $FACTEUR_CONFIG or /etc/facteur/facteur.yml)")
        sub.set_defaults(handler=handler)


def sample_cmd(args: argparse.Namespace) -> int:
    print(render_sample(), end="")
    return 0


def check_cmd(args: argparse.Namespace) -> int:
    load_settings(args.config)
    print("ok")
    return 0


def show_cmd(args: argparse.Namespace) -> int:
    # Settings hold no secrets (those live in the secrets dir), so all of it can be shown.
    settings = load_settings(args.config)
    print(f"# effective settings from {config_path(args.config)} (defaults filled in)")
    print(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False, allow_unicode=True), end="")
    return 0
