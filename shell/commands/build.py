"""``twin build``: regenerate a city's potential layers on Dask (tiled, resumable).

Its engine options are every engine's (:mod:`shell.options`), so whatever ``twin pv``,
``twin sites``, ``twin sinks`` and ``twin coverage`` accept, a build accepts too and
records in its manifest and the catalog.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engines.registry import ENGINES, STAGES, engines_for_stages
from shell.commands._run import city_option, home_of, params_file_option
from shell.options import engine_options, params_from_options

__all__ = ["command"]


@click.command(name="build")
@city_option
@click.option("--layers", "stages", default=None,
              help=f"Comma-separated stages: {','.join(STAGES)} (default: all).")
@click.option("--inputs", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder of new input layers (<layer>.parquet|gpkg|geojson) imported first.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: <twin>/batch).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of a local Dask cluster (default: CPU count).")
@click.option("--scheduler", default=None, help="Address of an existing Dask scheduler, tcp://HOST:PORT.")
@click.option("--tile-size", "tile_m", type=float, default=5000.0, show_default=True,
              help="Tile edge [m]; results do not depend on it.")
@params_file_option
@engine_options(ENGINES.values())
@click.pass_context
def command(ctx, city, stages, inputs, out, workers, scheduler, tile_m, params_file, **options):
    """Regenerate citywide potential layers: identical results whatever the cluster."""
    from tqdm import tqdm

    from shell.batch import run_batch

    stage_list = [s.strip() for s in stages.split(",")] if stages else None
    engines = engines_for_stages(stage_list) if stage_list else list(ENGINES.values())
    params = params_from_options(engines, options, params_file)
    bar = tqdm(total=0, desc=f"build {city}", unit="task", file=sys.stderr)

    def progress(done, total, what):
        bar.total = total
        bar.set_postfix_str(what)
        bar.n = done
        bar.refresh()

    try:
        res = run_batch(city, home=home_of(ctx), stages=stage_list, inputs=inputs, out=out,
                        workers=workers, scheduler=scheduler, tile_m=tile_m, progress=progress,
                        params=params)
    finally:
        bar.close()
    if res.status == "unchanged":
        click.echo(f"nothing to do: inputs and configuration unchanged since run {res.run_key} "
                   f"({res.out / 'current'})")
        return
    m = res.manifest
    click.echo(f"run {res.run_key}: {', '.join(m['stages'])} on {m['workers']} worker(s), "
               f"{m['tile_count']} tiles, {m['timings_s']['total']:.1f} s -> {res.out / 'current'}")
