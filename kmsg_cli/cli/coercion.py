"""Turning command-line words into parameter values without pydantic.

Typer 0.29 converts every parameter value through a pydantic `TypeAdapter`, built on first
use: importing pydantic and building the adapters is most of what a `kmsg send` costs to
start. kmsg's parameters are of a few plain types (str, int, float, bool, Path, an Enum of
choices, lists of these), so each parameter gets a converter that does what the adapter
would: the same value for every valid word, a usage error (exit 2) for an invalid one. A
parameter of any other type (or with a custom parser, bounds or clamping) keeps Typer's own.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._click.exceptions import BadParameter
from typer._coercion import RuntimeParam
from typer._param_types import coerce_cli_choice, coerce_cli_path

Convert = Callable[[Any, Any, Any], Any]
"""(value, param, ctx) -> converted value; raises BadParameter."""

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"", "0", "off", "f", "false", "n", "no"})


class PlainRuntimeParam(RuntimeParam):
    """Typer's conversion contract (None, multiple values) with a plain converter. (Not a
    dataclass of its own: defining one costs more at start-up than all the conversions.)"""

    convert: Convert

    def __init__(self, *, parameter_info: Any, annotation: Any, convert: Convert) -> None:
        super().__init__(parameter_info=parameter_info, annotation=annotation)
        object.__setattr__(self, "convert", convert)  # frozen, as its base

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        return self.convert(value, param, ctx)


def _text(value: Any, param: Any, ctx: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _number(kind: type[Any], label: str) -> Convert:
    def convert(value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, kind) and not isinstance(value, bool):
            return value
        try:
            return kind(str(value).strip())
        except ValueError:
            raise BadParameter(f"{value!r} is not a valid {label}.", ctx=ctx, param=param) from None

    return convert


def _flag(value: Any, param: Any, ctx: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise BadParameter(f"{value!r} is not a valid boolean.", ctx=ctx, param=param)


def _path(parameter_info: Any) -> Convert:
    def convert(value: Any, param: Any, ctx: Any) -> Any:
        path = value if isinstance(value, Path) else Path(_text(value, param, ctx))
        return coerce_cli_path(path, parameter_info, path_type=Path, param=param, ctx=ctx)

    return convert


def _choice(choices: tuple[Any, ...], case_sensitive: bool) -> Convert:
    def convert(value: Any, param: Any, ctx: Any) -> Any:
        try:
            return coerce_cli_choice(value, choices=choices, case_sensitive=case_sensitive, ctx=ctx)
        except ValueError as exc:
            raise BadParameter(str(exc), ctx=ctx, param=param) from None

    return convert


def _leaf(annotation: Any, parameter_info: Any) -> Convert | None:
    if annotation is str:
        return _text
    if annotation is bool:
        return _flag
    if annotation is int:
        return _number(int, "integer")
    if annotation is float:
        return _number(float, "number")
    if annotation is Path and parameter_info.path_type is None:
        return _path(parameter_info)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(tuple(annotation), parameter_info.case_sensitive)
    return None


def converter(annotation: Any, parameter_info: Any) -> Convert | None:
    """A plain converter for `annotation`, or None where Typer's own is needed."""
    if (
        parameter_info.parser is not None
        or parameter_info.min is not None
        or parameter_info.max is not None
        or getattr(parameter_info, "clamp", False)
    ):
        return None
    if get_origin(annotation) is list:
        (item_type,) = get_args(annotation)
        item = _leaf(item_type, parameter_info)
        if item is None:
            return None

        def each(value: Any, param: Any, ctx: Any) -> list[Any]:
            items = value if isinstance(value, (list, tuple)) else [value]
            return [item(one, param, ctx) for one in items]

        return each
    return _leaf(annotation, parameter_info)


def use_plain_conversion(params: Any) -> None:
    """Give each Typer parameter in `params` a plain converter where one does the same."""
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", None) is not None:
            continue
        if descriptor.file_annotation is not None:
            continue
        convert = converter(descriptor.annotation, descriptor.parameter_info)
        if convert is not None:
            param._runtime_param = PlainRuntimeParam(
                parameter_info=descriptor.parameter_info,
                annotation=descriptor.annotation,
                convert=convert,
            )
