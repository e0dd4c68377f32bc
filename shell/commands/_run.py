"""What the engine commands share: the city option, ``--params``, a run with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engines.registry import Engine
from twin.engine import EngineResult

__all__ = ["city_option", "home_of", "params_file_option", "run_with_progress"]

city_option = click.option("--city", required=True, help="City of a built twin.")
params_file_option = click.option(
    "--params", "params_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
    help="TOML file of engine parameters, one table per engine ([pv], [pv_sites], [wind], [sinks], "
         "[coverage]); options given here override it.")


def home_of(ctx) -> Path | None:
    """The ``--home`` of the ``twin`` group (``None``: ``$TWIN_HOME`` or ``./twin-data``)."""
    return ctx.obj["home"] if ctx.obj else None


def run_with_progress(ctx, spec: Engine, city: str, params, **inputs) -> EngineResult:
    """Run and commit one engine with a progress bar on stderr."""
    from tqdm import tqdm

    from shell.runners import run_engine

    with tqdm(total=len(spec.steps) + 2, desc=f"{spec.name} {city}", unit="step", file=sys.stderr,
              bar_format="{desc}: {n}/{total} {bar} {postfix}") as bar:
        def progress(name):
            bar.set_postfix_str(name)
            if bar.n < bar.total:
                bar.update(1)

        res = run_engine(spec.name, city, home=home_of(ctx), params=params, progress=progress, **inputs)
        bar.update(max(bar.total - bar.n, 0))
    return res
