"""Engine parameters as data: frozen dataclasses, one validator, TOML in, JSON-safe dict out.

Every engine declares its options as one frozen dataclass whose fields are made with
:func:`param`: a default, a unit, a one-line help, and the checks (range, choices)
as data. The same declaration then serves everywhere:

* :func:`from_mapping` builds an instance from a mapping (a TOML table, CLI options)
  and names every unknown key and every bad value in one :class:`~twin.errors.ConfigError`;
* constructing an instance directly runs the same checks (``__post_init__`` calls
  :func:`validate`), so no code path skips them; a class may add cross-field checks
  in a ``problems()`` method returning a list of messages;
* :func:`to_dict` gives the JSON-safe form recorded in a run's metadata, and
  :func:`from_mapping` of that dict gives the same instance back;
* the shell builds its command-line options from the fields that declare a ``cli`` flag.

Supported field types: ``bool``, ``int``, ``float``, ``str``, ``X | None`` of those,
``tuple[str, ...]``, ``dict[str, float]``, a nested parameter dataclass, and
``dict[str, <parameter dataclass>]``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from twin.errors import ConfigError, SourceError, listing

__all__ = ["Params", "from_mapping", "is_params_type", "load_toml", "param", "to_dict", "unwrap_optional",
           "validate", "with_changes"]

P = TypeVar("P")


def param(default: Any = dataclasses.MISSING, *, unit: str = "", help: str = "",
          minimum: float | None = None, maximum: float | None = None,
          exclusive_minimum: bool = False, choices: tuple | None = None,
          cli: str | None = None, cli_flag_value: Any = None,
          default_factory: Any = dataclasses.MISSING) -> Any:
    """A parameter field: its default and its checks, declared once.

    Parameters
    ----------
    default : any
        Default value (immutable); use ``default_factory`` for dicts.
    unit : str
        Unit of the value (as in :data:`twin.schema.UNITS`; ``""`` for none).
    help : str
        One line for ``--help`` and the docs.
    minimum, maximum : float, optional
        Inclusive bounds of a number (``exclusive_minimum`` makes the lower bound strict).
        For ``dict[str, float]`` they bound every value.
    choices : tuple, optional
        The allowed values.
    cli : str, optional
        Command-line flag (``"--hub-height"``); fields without one are set from a
        parameter file only.
    cli_flag_value : any, optional
        For a boolean switch (``--no-shading``): the value the flag sets.
    default_factory : callable, optional
        Factory of a mutable default.
    """
    meta = {"unit": unit, "help": help, "minimum": minimum, "maximum": maximum,
            "exclusive_minimum": exclusive_minimum, "choices": choices, "cli": cli,
            "cli_flag_value": cli_flag_value}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class Params:
    """Base of every parameter dataclass: checks itself on construction."""

    def __post_init__(self) -> None:
        validate(self)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def is_params_type(tp: Any) -> bool:
    """Whether ``tp`` is a parameter dataclass."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``(inner, True)`` for an annotation ``X | None``; ``(tp, False)`` otherwise."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _type_name(tp: Any) -> str:
    inner, opt = unwrap_optional(tp)
    name = getattr(inner, "__name__", str(inner)) if typing.get_origin(inner) is None else str(inner)
    return f"{name} or none" if opt else name


def _coerce(value: Any, tp: Any, where: str, problems: list[str]) -> Any:
    """``value`` as type ``tp`` (int -> float, list -> tuple, mapping -> dataclass), or a problem."""
    inner, optional = unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        problems.append(f"{where}: must be a {_type_name(tp)}, not empty")
        return value
    origin = typing.get_origin(inner)
    if is_params_type(inner):
        if isinstance(value, inner):
            return value
        if not isinstance(value, Mapping):
            problems.append(f"{where}: must be a table of parameters, got {value!r}")
            return value
        return _build(inner, value, where, problems)
    if origin is dict:
        key_t, val_t = typing.get_args(inner)
        if not isinstance(value, Mapping):
            problems.append(f"{where}: must be a table, got {value!r}")
            return value
        return {str(k): _coerce(v, val_t, f"{where}.{k}", problems) for k, v in value.items()}
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            problems.append(f"{where}: must be a list, got {value!r}")
            return value
        item_t = typing.get_args(inner)[0]
        return tuple(_coerce(v, item_t, f"{where}[{i}]", problems) for i, v in enumerate(value))
    if inner is bool:
        if not isinstance(value, bool):
            problems.append(f"{where}: must be true or false, got {value!r}")
        return value
    if inner is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            problems.append(f"{where}: must be a whole number, got {value!r}")
        return value
    if inner is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{where}: must be a number, got {value!r}")
            return value
        value = float(value)
        if not math.isfinite(value):
            problems.append(f"{where}: must be finite, got {value!r}")
        return value
    if inner is str:
        if not isinstance(value, str):
            problems.append(f"{where}: must be text, got {value!r}")
        return value
    return value  # pragma: no cover - an unsupported annotation is a programming error


def _check_value(value: Any, f: dataclasses.Field, where: str, problems: list[str]) -> None:
    m = f.metadata
    values = value.values() if isinstance(value, dict) else [value]
    for v in values:
        if v is None or isinstance(v, bool) or dataclasses.is_dataclass(v):
            continue
        if m.get("choices") is not None and v not in m["choices"]:
            problems.append(f"{where}: {v!r} is not one of {listing(m['choices'], quote=True)}")
        if isinstance(v, int | float):
            lo, hi = m.get("minimum"), m.get("maximum")
            if lo is not None and (v <= lo if m.get("exclusive_minimum") else v < lo):
                problems.append(f"{where}: {v:g} must be {'>' if m.get('exclusive_minimum') else '>='} "
                                f"{lo:g}{' ' + m['unit'] if m.get('unit') else ''}")
            if hi is not None and v > hi:
                problems.append(f"{where}: {v:g} must be <= {hi:g}{' ' + m['unit'] if m.get('unit') else ''}")


def _build(cls: Any, data: Mapping, where: str, problems: list[str]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        problems.append(f"{where}: unknown parameter(s) {listing(sorted(map(str, unknown)))}; "
                        f"known: {listing(sorted(fields), limit=40)}")
    hints = _hints(cls)
    kwargs = {}
    for name in fields:
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], f"{where}.{name}", problems)
    if problems:
        return None
    try:
        obj = object.__new__(cls)
        for name, f in fields.items():
            if name in kwargs:
                value = kwargs[name]
            elif f.default is not dataclasses.MISSING:
                value = f.default
            elif f.default_factory is not dataclasses.MISSING:
                value = f.default_factory()
            else:
                problems.append(f"{where}.{name}: required")
                continue
            object.__setattr__(obj, name, value)
        if problems:
            return None
        _validate_into(obj, where, problems)
    except (TypeError, ValueError) as exc:  # pragma: no cover - defensive
        problems.append(f"{where}: {exc}")
        return None
    return obj


def _validate_into(obj: Any, where: str, problems: list[str]) -> None:
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        before = len(problems)
        value2 = _coerce(value, hints[f.name], f"{where}.{f.name}", problems)
        if len(problems) == before:
            if value2 is not value:
                object.__setattr__(obj, f.name, value2)
            _check_value(value2, f, f"{where}.{f.name}", problems)
    hook = getattr(obj, "problems", None)
    if callable(hook):
        try:
            found = list(hook() or ())
        except (TypeError, ValueError, AttributeError, KeyError):
            found = [] if problems else ["cross-field check failed on bad values"]
        problems.extend(f"{where}: {p}" for p in found)


def validate(obj: Any, where: str | None = None) -> None:
    """Check a parameter instance; raise one :class:`ConfigError` naming every problem."""
    problems: list[str] = []
    _validate_into(obj, where or type(obj).__name__, problems)
    if problems:
        raise ConfigError("; ".join(problems))


def from_mapping(cls: type[P], data: Mapping | None, *, where: str | None = None) -> P:
    """Build ``cls`` from ``data`` (missing keys take their defaults).

    Raises
    ------
    ConfigError
        Naming every unknown key and every value of the wrong type or out of range.
    """
    problems: list[str] = []
    obj = _build(cls, dict(data or {}), where or cls.__name__, problems)
    if problems:
        raise ConfigError("; ".join(problems))
    return obj


def with_changes(obj: P, changes: Mapping, *, where: str | None = None) -> P:
    """A copy of ``obj`` with ``changes`` (nested mappings merge into nested parameters)."""
    return from_mapping(type(obj), _merge(to_dict(obj), changes), where=where)


def _merge(base: dict, over: Mapping) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def to_dict(obj: Any) -> dict:
    """JSON-safe dict of a parameter instance (tuples as lists), as recorded in a run's meta."""
    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, tuple | list):
            return [conv(x) for x in v]
        return v
    return conv(obj)


def load_toml(path: str | os.PathLike) -> dict:
    """Read a TOML file of parameters.

    Raises
    ------
    SourceError
        The file is missing or not valid TOML (the message names it and the fix).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        msg = f"{path}: parameter file not found; check the path"
        raise SourceError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML ({exc}); fix the file"
        raise SourceError(msg) from None
