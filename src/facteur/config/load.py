"""Read /etc/facteur/facteur.yml into validated Settings, or fail with one line that names the key."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from facteur.config.schema import Settings
from facteur.errors import ConfigError

DEFAULT_CONFIG = Path("/etc/facteur/facteur.yml")


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses a key given twice (PyYAML would silently keep the last one)."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def config_path(path: Path | str | None = None) -> Path:
    """Return the config file to read: `path` if given, else $FACTEUR_CONFIG, else the default."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("FACTEUR_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: Path | str | None = None) -> Settings:
    """Given a config file path (default: $FACTEUR_CONFIG or /etc/facteur/facteur.yml), return Settings.

    An absent default file (or $FACTEUR_CONFIG file) and an empty file give the demo defaults. A path
    given explicitly must exist. Raise ConfigError (exit code 2) with one line naming the file and the
    first offending key if the file is unreadable, is not YAML, is not a mapping, or fails validation.
    """
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if path is not None:
            raise ConfigError(f"{file}: no such file") from None
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_settings(text, str(file))


def parse_settings(text: str, source: str = "<config>") -> Settings:
    """Given YAML `text` (from `source`, used in messages), return Settings; raise ConfigError if invalid."""
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: {_yaml_error(exc)}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"{source}: the file must be a mapping of settings (key: value), not a {_yaml_type(document)}"
        )
    try:
        return Settings.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_validation_error(exc)}") from None


def format_validation_error(exc: ValidationError) -> str:
    """Return the first error of `exc` as `at 'a.b[0]': message`, plus "(and N more)" if there are more."""
    errors = exc.errors()
    first = errors[0]
    message = first["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key (see `facteur config sample` for the valid ones)"
    location = _location(first["loc"])
    text = f"at '{location}': {message}" if location else message
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return " ".join(text.split())


def _location(loc: tuple) -> str:
    """Return a pydantic location as a dotted path with list indices: limits.max_recipients, domains[1]."""
    parts = ""
    for item in loc:
        if isinstance(item, int):
            parts += f"[{item}]"
        else:
            parts += f".{item}" if parts else str(item)
    return parts


def _yaml_error(exc: yaml.YAMLError) -> str:
    """Return a YAML error as one line: `YAML syntax error at line L, column C: problem`."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return " ".join(f"YAML syntax error{where}: {problem}".split())


def _yaml_type(document: object) -> str:
    if isinstance(document, list):
        return "list"
    if isinstance(document, str):
        return "string"
    return type(document).__name__
