"""``twin sinks``: carbon-sink accounting on a built twin (see :mod:`sinks.run`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["command"]


@click.command("sinks")
@click.option("--city", required=True, help="City of a built twin.")
@click.option("--scenario", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Scenario polygons (action, to_class, age_shift, growing_stock_m3_per_ha).")
@click.option("--no-raster", is_flag=True, help="Skip the land-cover raster accounting.")
@click.option("--previous-raster", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Land-cover raster of an earlier epoch for stock-difference removals.")
@click.option("--years", type=float, default=None, help="Years between the two raster epochs.")
@click.option("--special-shrubland-share", type=click.FloatRange(0, 1), default=0.0,
              show_default=True, help="Share of shrubland counted as forest (特殊灌木林).")
@click.option("--factors", "factors_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder with carbon_pools.csv etc. [data/sinks].")
@click.pass_context
def command(ctx, city, scenario, no_raster, previous_raster, years, special_shrubland_share,
            factors_dir):
    """Carbon stocks, sequestration and sink indicators against the seed targets."""
    from tqdm import tqdm

    from sinks.run import STEPS, run_sinks

    with tqdm(total=len(STEPS), desc=f"sinks {city}", unit="step", file=sys.stderr,
              bar_format="{desc}: {n}/{total} {bar} {postfix}") as bar:
        seen = set()

        def progress(name, bar=bar):
            top = name.split(" ")[0]
            if top not in seen:
                seen.add(top)
                if bar.n < len(STEPS) and len(seen) > 1:
                    bar.update(1)
            bar.set_postfix_str(name)

        out = run_sinks(city, home=ctx.obj["home"], scenario=scenario, use_raster=not no_raster,
                        previous_raster=previous_raster, years=years,
                        special_shrubland_share=special_shrubland_share, factors_dir=factors_dir,
                        progress=progress)
        bar.update(len(STEPS) - bar.n)
    ind = out["sink_indicators"]
    city_rows = ind.loc[(ind["level"] == "city") & (ind["input_kind"] == "polygons")]
    for r in city_rows.drop_duplicates(["indicator", "method"]).itertuples():
        tgt = f"  target {r.target_id} {r.comparator} {r.target_value:,.2f}" if r.target_id else ""
        click.echo(f"{r.indicator:32s} {r.value:>18,.2f}{tgt}")
    if "sink_scenario" in out:
        click.echo(f"scenario: {len(out['sink_scenario'])} indicator rows in table sink_scenario")
