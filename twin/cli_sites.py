"""``twin sites``: screens of centralised / distributed generation sites on a built twin.

Each screen is one entry of :data:`SCREENS`: a name, the number of progress steps it
reports, and a function ``run(city, home, options, progress) -> list of lines`` that
runs it, commits its results and returns summary lines. Today only ``wind``
(distributed wind, :func:`layers.wind_sites.run_wind`); the water-surface and ground
PV screens are added as further entries.
"""

from __future__ import annotations

import sys

import click

__all__ = ["SCREENS", "command"]


def _run_wind(city, home, options, progress) -> list[str]:
    from layers.wind_sites import WindParams, run_wind

    kw = {}
    if options.get("turbine"):
        kw["turbine_type"] = options["turbine"]
    if options.get("hub_height") is not None:
        kw["hub_height_m"] = options["hub_height"]
    if options.get("cell") is not None:
        kw["cell_m"] = options["cell"]
    if options.get("storage_hours") is not None:
        kw["storage_duration_h"] = options["storage_hours"]
    out = run_wind(city, home, params=WindParams(**kw), progress=progress)
    meta, sites = out["meta"], out["results"]["wind_sites"]
    lines = [
        f"wind: {len(sites):,} turbine sites ({meta['turbine_type']}, hub {meta['hub_height_m']:g} m), "
        f"{sites['capacity_mw'].sum():,.0f} MW technical potential, "
        f"mean CF {sites['capacity_factor'].mean():.1%}; resource: {meta['resource']}",
    ]
    if sites["is_screening_estimate"].any():
        lines.append(f"  SCREENING ESTIMATE: station mean 10 m wind "
                     f"{meta['station_mean_wind_10m_m_per_s']:.2f} m/s extrapolated to hub height; "
                     "import a wind atlas raster (`twin import wind_speed`) for site values")
    for _, r in out["tables"]["wind_targets"].iterrows():
        lines.append(f"  {r['target_id']:<11} {r['status']:<6} {r['tier']:<7} {r['target_mw']:>5.0f} MW: "
                     f"{'met' if r['meets_target'] else 'NOT met'} by potential; best "
                     f"{r['turbines_needed']} sites give {r['best_sites_energy_mwh_per_yr']:,.0f} MWh/yr "
                     f"(CF {r['best_sites_capacity_factor']:.1%}); storage {r['storage_power_mw']:g} MW"
                     f" / {r['storage_energy_mwh']:g} MWh")
    for note in meta["notes"]:
        lines.append(f"  note: {note}")
    return lines


def _run_pv_sites(city, home, options, progress) -> list[str]:
    from pv_potential.sites import run_pv_sites

    st = {"duration_h": options["storage_hours"]} if options.get("storage_hours") is not None else None
    out = run_pv_sites(city, home=home, progress=progress, storage=st)
    lines = []
    totals = out["city"]
    for r in totals.loc[totals["site_category"] == "all"].itertuples():
        lines.append(f"{r.kind + ' PV:':<12} {int(r.sites_count):>7,} sites  {r.capacity_mwp:>10,.1f} MWp  "
                     f"{r.pv_energy_mwh_per_yr / 1000:>9,.1f} GWh/yr  storage {r.storage_power_mw:,.1f} MW"
                     f" / {r.storage_energy_mwh:,.1f} MWh")
    lines.append("  technical potential before land-use approval; see pv_sites_targets for the PV targets")
    return lines


#: The site screens: name -> (progress steps, runner).
SCREENS: dict[str, tuple[int, object]] = {
    "wind": (6, _run_wind),
    "pv": (5, _run_pv_sites),
}


@click.command(name="sites")
@click.option("--city", required=True, help="City of a built twin.")
@click.option("--only", "only", multiple=True, type=click.Choice(list(SCREENS)),
              help="Run only these screens (repeatable; default: all).")
@click.option("--turbine", default=None,
              help="Wind turbine type of windpowerlib's library [default GE120/2500].")
@click.option("--hub-height", type=float, default=None, help="Wind hub height [m] [default 110].")
@click.option("--cell", type=float, default=None, help="Eligibility grid cell [m] [default 100].")
@click.option("--storage-hours", type=float, default=None,
              help="Storage duration [h] for the >= 10 %% storage rule [default 2].")
@click.pass_context
def command(ctx, city, only, turbine, hub_height, cell, storage_hours):
    """Site screens (distributed wind) with exclusions, placement, energy and targets."""
    from tqdm import tqdm

    home = ctx.obj["home"] if ctx.obj else None
    names = list(only) or list(SCREENS)
    options = {"turbine": turbine, "hub_height": hub_height, "cell": cell,
               "storage_hours": storage_hours}
    total = sum(SCREENS[n][0] for n in names)
    lines: list[str] = []
    with tqdm(total=total, desc=f"sites {city}", unit="step", file=sys.stderr) as bar:
        def progress(name):
            bar.set_postfix_str(name)
            bar.update(1)

        for name in names:
            lines += SCREENS[name][1](city, home, options, progress)
        bar.update(max(bar.total - bar.n, 0))
    for line in lines:
        click.echo(line)
