"""Walk the schema: the keys of Settings with their description, example, default, type and limits.

Shared by the sample config and the reference page, so both say the same thing.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from facteur.config.schema import Settings


@dataclass(frozen=True)
class Key:
    """One configuration key. `path` is dotted (limits.max_recipients); `section` is set for nested models."""

    path: str
    name: str
    depth: int
    description: str
    example: Any
    default: Any
    type_name: str
    constraints: str
    section: type[BaseModel] | None


def walk(model: type[BaseModel] = Settings, prefix: str = "", depth: int = 0) -> Iterator[Key]:
    """Yield every key of `model` in declaration order, each section followed by its own keys."""
    for name, info in model.model_fields.items():
        section = _section(info.annotation)
        yield Key(
            path=f"{prefix}{name}",
            name=name,
            depth=depth,
            description=info.description or "",
            example=(info.examples or [None])[0],
            default=default_of(info),
            type_name=type_name(info.annotation),
            constraints=constraints(info),
            section=section,
        )
        if section is not None:
            yield from walk(section, f"{prefix}{name}.", depth + 1)


def default_of(info: FieldInfo) -> Any:
    """Return a field's default as plain data (None when computed, like admin_email)."""
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return None
    else:
        value = info.default
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def _section(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def type_name(annotation: Any) -> str:
    """Return a reader's name for a field type: string, integer, list of string, one of `a`, `b`..."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{arg}`" for arg in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(arg) for arg in args if arg is not type(None))
    if origin is list:
        return f"list of {type_name(args[0])}" if args else "list"
    if _section(annotation) is not None:
        return "mapping"
    return {str: "string", int: "integer", bool: "boolean", float: "number"}.get(annotation, str(annotation))


def constraints(info: FieldInfo) -> str:
    """Return a field's numeric and length limits as text ("1 to 1000", "at least 1 item"), or ""."""
    low = high = min_items = None
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.MinLen):
            min_items = item.min_length
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"at least {low}"
    if high is not None:
        return f"at most {high}"
    if min_items:
        return f"at least {min_items} item" + ("s" if min_items > 1 else "")
    return ""
