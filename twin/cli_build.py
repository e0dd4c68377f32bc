"""``twin build``: regenerate a city's potential layers on Dask (tiled, resumable)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["command"]


@click.command(name="build")
@click.option("--city", required=True, help="City of a built twin.")
@click.option("--layers", "stages", default=None,
              help="Comma-separated stages: pv,water,ground,wind,sinks,coverage (default: all).")
@click.option("--inputs", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder of new input layers (<layer>.parquet|gpkg|geojson) imported first.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: <twin>/batch).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of a local Dask cluster (default: CPU count).")
@click.option("--scheduler", default=None, help="Address of an existing Dask scheduler, tcp://HOST:PORT.")
@click.option("--tile-size", "tile_m", type=float, default=5000.0, show_default=True,
              help="Tile edge [m]; results do not depend on it.")
@click.pass_context
def command(ctx, city, stages, inputs, out, workers, scheduler, tile_m):
    """Regenerate citywide potential layers: identical results whatever the cluster."""
    from tqdm import tqdm

    from twin.batch import run_batch

    bar = tqdm(total=0, desc=f"build {city}", unit="task", file=sys.stderr)

    def progress(done, total, what):
        bar.total = total
        bar.set_postfix_str(what)
        bar.n = done
        bar.refresh()

    try:
        res = run_batch(city, home=ctx.obj["home"] if ctx.obj else None,
                        stages=stages.split(",") if stages else None, inputs=inputs, out=out,
                        workers=workers, scheduler=scheduler, tile_m=tile_m, progress=progress)
    finally:
        bar.close()
    if res.status == "unchanged":
        click.echo(f"nothing to do: inputs and configuration unchanged since run {res.run_key} "
                   f"({res.out / 'current'})")
        return
    m = res.manifest
    click.echo(f"run {res.run_key}: {', '.join(m['stages'])} on {m['workers']} worker(s), "
               f"{m['tile_count']} tiles, {m['timings_s']['total']:.1f} s -> {res.out / 'current'}")
