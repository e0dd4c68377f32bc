"""``twin pv``: rooftop PV potential on a built twin."""

from __future__ import annotations

import sys

import click

__all__ = ["command"]


@click.command(name="pv")
@click.option("--city", required=True, help="City of a built twin.")
@click.option("--scenario", default=None,
              help="Installable-ratio scenario written on buildings (data/pv/scenarios.toml).")
@click.option("--weather", "weather_file", default=None, help="Weather file name of the city.")
@click.option("--no-shading", is_flag=True, help="Skip horizon shading from neighbours.")
@click.option("--transposition", "transposition_model", default="perez",
              type=click.Choice(["perez", "haydavies", "isotropic"]), show_default=True)
@click.pass_context
def command(ctx, city, scenario, weather_file, no_shading, transposition_model):
    """Rooftop PV potential: facets, shading, pvlib-exact yield, totals against targets."""
    from tqdm import tqdm

    from pv_potential.run import run_rooftop

    steps = ["weather", "roof facets", "horizon shading", "yield", "scenarios", "aggregate and commit"]
    with tqdm(total=len(steps), desc=f"pv {city}", unit="step", file=sys.stderr) as bar:
        def progress(name):
            bar.set_postfix_str(name)
            bar.update(1)

        out = run_rooftop(city, home=ctx.obj["home"] if ctx.obj else None, scenario=scenario,
                          weather_file=weather_file, shading=not no_shading, progress=progress,
                          transposition_model=transposition_model)
        bar.update(bar.total - bar.n)
    tech = out["city"].set_index("scenario")
    for s, row in tech.iterrows():
        gwh = row["pv_yield_mwh_per_yr"] / 1000
        click.echo(f"{s:<20} {row['pv_capacity_mw']:>10.1f} MW  {gwh:>10.1f} GWh/yr"
                   f"  {row['specific_yield_kwh_per_kwp']:>6.0f} kWh/kWp")
    gov = out["targets"]
    gov = gov.loc[gov["is_governing"] & (gov["scenario"] == "technical")]
    for r in gov.itertuples():
        click.echo(f"target {r.target_id} ({r.year}): {r.target_mw:.0f} MW, needed beyond 2020: "
                   f"{r.needed_mw:.0f} MW, rooftop technical potential {r.potential_mw:.0f} MW")
