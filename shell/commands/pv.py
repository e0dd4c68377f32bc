"""``twin pv``: rooftop PV potential on a built twin."""

from __future__ import annotations

import click

from engines.registry import ROOFTOP
from shell.commands._run import city_option, params_file_option, run_with_progress
from shell.options import engine_options, params_from_options

__all__ = ["command"]


@click.command(name="pv")
@city_option
@params_file_option
@engine_options([ROOFTOP])
@click.pass_context
def command(ctx, city, params_file, **options):
    """Rooftop PV potential: facets, shading, pvlib-exact yield, totals against targets."""
    params = params_from_options([ROOFTOP], options, params_file)[ROOFTOP.name]
    res = run_with_progress(ctx, ROOFTOP, city, params)
    tech = res.tables["pv_city"].set_index("scenario")
    for s, row in tech.iterrows():
        gwh = row["pv_yield_mwh_per_yr"] / 1000
        click.echo(f"{s:<20} {row['pv_capacity_mw']:>10.1f} MW  {gwh:>10.1f} GWh/yr"
                   f"  {row['specific_yield_kwh_per_kwp']:>6.0f} kWh/kWp")
    tech_row = tech.loc["technical"] if "technical" in tech.index else None
    if tech_row is not None and "capacity_factor" in tech.columns:
        ef = params.economics.grid_emission_factor_t_co2_per_mwh
        click.echo(f"technical: capacity factor {100 * tech_row['capacity_factor']:.1f} %, CO2 avoided "
                   f"{tech_row['co2_avoided_t_co2_per_yr'] / 1000:,.0f} kt/yr (grid {ef:g} t/MWh), "
                   "median LCOE "
                   f"{tech_row['median_lcoe_cny_per_kwh']:.3f} CNY/kWh, median simple payback "
                   f"{tech_row['median_simple_payback_yr']:.1f} yr (data/pv/economics.toml)")
    var = res.meta.get("pv", {}).get("weather_variability", {})
    if var.get("kind") == "between-file":
        parts = ", ".join(f"{name}: {f.get('specific_yield_kwh_per_kwp', f.get('error', '?'))}"
                          for name, f in var["files"].items())
        click.echo(f"weather files ({var['n_facets_sampled']} roofs, kWh/kWp): {parts}; spread "
                   f"{var['spread_kwh_per_kwp']:.0f} ({100 * var['relative_spread']:.0f} %), between files, "
                   "not year to year")
    gov = res.tables["pv_targets"]
    gov = gov.loc[gov["is_governing"] & (gov["scenario"] == "technical")]
    for r in gov.itertuples():
        click.echo(f"target {r.target_id} ({r.year}): {r.target_mw:.0f} MW, needed beyond 2020: "
                   f"{r.needed_mw:.0f} MW, rooftop technical potential {r.potential_mw:.0f} MW"
                   + ("" if r.is_citywide else " (not comparable: see scope)"))
    if len(gov) and gov["note"].iloc[0]:
        click.echo(f"scope: {gov['note'].iloc[0]}")
