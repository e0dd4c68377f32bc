"""Command-line options made from the engines' parameter dataclasses, so no option is written twice.

Every field of a parameter dataclass (nested ones included) that declares a ``cli``
flag (:func:`twin.params.param`) becomes one click option. ``twin pv`` gets the
rooftop engine's, ``twin sites`` those of the site and wind screens, ``twin build``
every engine's: a flag shared by several engines (``--weather``, ``--storage-hours``,
``--transposition``) means the same thing in each and sets it in each.

A ``--params FILE.toml`` holds one table per engine (``[pv]``, ``[pv_sites]``, ``[wind]``,
``[sinks]``, ``[coverage]``), validated by :func:`twin.params.from_mapping`; flags given
on the command line override the file.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import click

from engines.registry import ENGINES, Engine
from twin.errors import ConfigError
from twin.params import from_mapping, is_params_type, load_toml, unwrap_optional, with_changes

__all__ = ["Flag", "engine_flags", "engine_options", "params_from_options"]


@dataclass(frozen=True)
class Flag:
    """One command-line flag and the engine fields it sets."""

    flag: str
    dest: str
    targets: tuple[tuple[str, tuple[str, ...]], ...]  # (engine name, field path)
    type: Any
    help: str
    unit: str
    choices: tuple | None
    flag_value: Any


def _walk(cls, prefix: tuple[str, ...] = ()):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp, _ = unwrap_optional(hints[f.name])
        if is_params_type(tp):
            yield from _walk(tp, (*prefix, f.name))
        elif f.metadata.get("cli"):
            yield (*prefix, f.name), f, tp


def engine_flags(engines: Iterable[Engine]) -> list[Flag]:
    """The flags of ``engines``' parameters, in declaration order, shared flags merged.

    Raises
    ------
    TypeError
        Two engines declare one flag with different types (a programming error).
    """
    found: dict[str, Flag] = {}
    for spec in engines:
        for path, f, tp in _walk(spec.params):
            m = f.metadata
            flag = m["cli"]
            old = found.get(flag)
            if old is not None:
                if old.type is not tp or old.flag_value != m.get("cli_flag_value"):
                    msg = f"flag {flag} means different things in {old.targets[0][0]} and {spec.name}"
                    raise TypeError(msg)
                found[flag] = dataclasses.replace(old, targets=(*old.targets, (spec.name, path)))
                continue
            found[flag] = Flag(flag, flag.lstrip("-").replace("-", "_"), ((spec.name, path),), tp,
                               m.get("help", ""), m.get("unit", ""), m.get("choices"),
                               m.get("cli_flag_value"))
    return list(found.values())


def engine_options(engines: Iterable[Engine]) -> Callable:
    """A decorator adding the click options of ``engines``' parameters to a command."""
    flags = engine_flags(list(engines))

    def decorate(func):
        for fl in reversed(flags):
            help_ = fl.help + (f" [{fl.unit}]" if fl.unit and fl.unit not in fl.help else "")
            defaults = ", ".join(sorted({_default_text(e, p) for e, p in fl.targets}))
            if fl.flag_value is not None:
                func = click.option(fl.flag, fl.dest, is_flag=True, default=False, help=help_)(func)
                continue
            kind = (click.Choice(list(fl.choices)) if fl.choices else
                    {float: click.FLOAT, int: click.INT, str: click.STRING}.get(fl.type, click.STRING))
            func = click.option(fl.flag, fl.dest, type=kind, default=None,
                                help=f"{help_} [default: {defaults}]")(func)
        return func

    return decorate


def _default_text(engine_name: str, path: tuple[str, ...]) -> str:
    obj: Any = ENGINES[engine_name].params()
    for name in path:
        obj = getattr(obj, name)
    return "none" if obj is None else f"{obj:g}" if isinstance(obj, float) else str(obj)


def _nested(path: tuple[str, ...], value) -> dict:
    out: dict = {path[-1]: value}
    for name in reversed(path[:-1]):
        out = {name: out}
    return out


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def params_from_options(engines: Iterable[Engine], options: dict, params_file=None) -> dict[str, Any]:
    """Each engine's parameters from a ``--params`` file and the flags given.

    Parameters
    ----------
    engines : iterable of Engine
    options : dict
        Click's values of :func:`engine_options`' flags (``None`` / ``False`` = not given).
    params_file : path-like, optional
        TOML with one table per engine name.

    Returns
    -------
    dict
        Engine name -> validated parameter instance.

    Raises
    ------
    ConfigError
        An unknown table in the file, an unknown key or a bad value (named).
    """
    engines = list(engines)
    doc = load_toml(params_file) if params_file is not None else {}
    unknown = [k for k in doc if k not in ENGINES]
    if unknown:
        msg = (f"{params_file}: unknown table(s) {', '.join(map(repr, unknown))}; one table per "
               f"engine: {', '.join(f'[{n}]' for n in ENGINES)}")
        raise ConfigError(msg)
    out = {}
    for spec in engines:
        base = from_mapping(spec.params, doc.get(spec.name, {}),
                            where=f"[{spec.name}] of {params_file}" if params_file else spec.name)
        changes: dict = {}
        for fl in engine_flags([spec]):
            value = options.get(fl.dest)
            if fl.flag_value is not None:
                value = fl.flag_value if value else None
            if value is None:
                continue
            for _, path in fl.targets:
                changes = _merge(changes, _nested(path, value))
        out[spec.name] = with_changes(base, changes, where=f"{spec.name} options") if changes else base
    return out
