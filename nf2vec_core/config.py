"""Typed configuration: dataclasses mirroring ``params.yaml`` sections, loaded strictly.

``load_section(params, "fit", FitParams)`` builds the dataclass from ``params["fit"]`` and fails
fast, naming the key, on a missing section, a missing required key, an unknown (e.g. misspelt)
key, or a value of the wrong type. Nested dataclasses and ``Optional``/``tuple``/``list``/``dict``
fields are checked recursively; ints are accepted where floats are expected. Each value is then
checked for range and meaning by the rules of :mod:`nf2vec_core.validation` (positive counts,
``lr > 0``, fractions in [0, 1], known devices, ...).
"""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from . import validation
from .errors import ConfigError

T = TypeVar("T")
MISSING = dataclasses.MISSING


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Read a params file (YAML mapping)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def merge_params(base: dict[str, Any], overlay: dict[str, Any], where: str = "") -> dict[str, Any]:
    """``base`` with the values of ``overlay`` (e.g. configs/paper.yaml) deep-merged in; every key of
    the overlay must already exist in ``base``."""
    out = dict(base)
    for k, v in overlay.items():
        key = f"{where}{k}"
        if k not in base:
            raise ConfigError(f"unknown param '{key}' in overlay")
        out[k] = merge_params(base[k], v, key + ".") if isinstance(v, dict) and isinstance(base[k], dict) else v
    return out


def apply_overlay(params_path: str | Path, overlay_path: str | Path) -> dict[str, Any]:
    """The params file at ``params_path`` with the overlay file (e.g. configs/paper.yaml, the papers'
    sizes) deep-merged in (:func:`merge_params`: every key of the overlay must exist in the params)."""
    try:
        return merge_params(read_params(params_path), read_params(overlay_path))
    except ConfigError as exc:
        raise ConfigError(f"{overlay_path}: {exc}") from exc


def dump_params(params: dict[str, Any]) -> str:
    """``params`` as the text of a params file (keys in their order)."""
    return yaml.safe_dump(params, sort_keys=False)


def get_path(params: dict[str, Any], dotted: str) -> Any:
    """``params["a"]["b"]`` for ``"a.b"``, with a ConfigError naming the missing key."""
    node: Any = params
    for i, part in enumerate(dotted.split(".")):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"missing param '{'.'.join(dotted.split('.')[:i + 1])}'")
        node = node[part]
    return node


def load_section(params: dict[str, Any], dotted: str, cls: type[T], overrides: dict[str, Any] | None = None) -> T:
    """Build dataclass ``cls`` from the params section at ``dotted`` (strict), with ``overrides``
    (e.g. command-line values) replacing keys of the section before it is checked."""
    section = get_path(params, dotted)
    if overrides and isinstance(section, dict):
        section = {**section, **overrides}
    return from_dict(cls, section, dotted)


def from_dict(cls: type[T], data: Any, where: str) -> T:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"param '{where}': expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"unknown param '{where}.{unknown[0]}' (known: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, f in fields.items():
        key = f"{where}.{name}"
        if name not in data:
            if f.default is MISSING and f.default_factory is MISSING:  # type: ignore[misc]
                raise ConfigError(f"missing param '{key}'")
            continue
        kwargs[name] = _coerce(hints[name], data[name], key)
        validation.check_field(cls, name, kwargs[name], key, f.metadata)
    validation.check_fields_together(cls, {**_defaults(fields.values()), **kwargs}, where)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(_in_section(str(exc), where, fields)) from exc


def _in_section(message: str, where: str, fields: typing.Iterable[str]) -> str:
    """A dataclass's own error message placed in section ``where``: ``param 'x': ...`` (a field of
    the dataclass) becomes ``param 'where.x': ...``; any other message gets ``param 'where': ``."""
    m = re.match(r"param '(\w+)'", message)
    if m and m.group(1) in fields:
        return f"param '{where}.{m.group(1)}'{message[m.end():]}"
    return f"param '{where}': {message}"


def _defaults(fields: typing.Iterable[dataclasses.Field]) -> dict[str, Any]:
    return {f.name: f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
            for f in fields if f.default is not MISSING or f.default_factory is not MISSING}  # type: ignore[misc]


def load_value(params: dict[str, Any], dotted: str, tp: Any, default: Any = MISSING) -> Any:
    """One param outside any dataclass (e.g. ``nerf.device``): type-checked like a dataclass field
    and range-checked by the rule its name carries (:data:`nf2vec_core.validation.NAME_RULES`);
    ``default`` when the key is absent (ConfigError when there is none)."""
    parent, _, name = dotted.rpartition(".")
    node = get_path(params, parent) if parent else params
    if not isinstance(node, dict) or name not in node:
        if default is MISSING:
            raise ConfigError(f"missing param '{dotted}'")
        return default
    value = _coerce(tp, node[name], dotted)
    validation.check_field(None, name, value, dotted)
    return value


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(a, value, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"param '{key}': invalid value {value!r}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"param '{key}': {value!r} is not one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"param '{key}': expected a list, got {value!r}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
        if origin is tuple and args:
            if len(args) != len(value):
                raise ConfigError(f"param '{key}': expected {len(args)} values, got {len(value)}")
            return tuple(_coerce(a, v, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        inner = args[0] if args else Any
        return [_coerce(inner, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"param '{key}': expected a mapping, got {value!r}")
        vt = args[1] if args else Any
        return {k: _coerce(vt, v, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"param '{key}': expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"param '{key}': expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"param '{key}': expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"param '{key}': expected a string, got {value!r}")
        return value
    return value
