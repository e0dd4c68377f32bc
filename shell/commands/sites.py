"""``twin sites``: the screens of centralised and distributed generation sites on a built twin.

Two screens, each an engine of :mod:`engines.registry`: ``pv`` (water-surface and
ground PV, :mod:`engines.pv.sites`) and ``wind`` (distributed wind,
:mod:`engines.wind.screen`). Their options are their parameters'; ``--storage-hours``
sets both, and ``--only`` runs one of them. Each screen is run and committed on its own
(:func:`shell.commands._run.run_with_progress`), then a summary of each is printed.
"""

from __future__ import annotations

import click

from engines.registry import PV_SITES, WIND
from shell.commands._run import city_option, params_file_option, run_with_progress
from shell.options import engine_options, params_from_options

__all__ = ["SCREENS", "command"]

#: Screen name -> its engine, in the order they run.
SCREENS = {"pv": PV_SITES, "wind": WIND}


def wind_lines(res) -> list[str]:
    """Summary lines of a wind screen's result: technical sites, what is viable, the targets."""
    meta, sites = res.meta["wind_screen"], res.results["wind_sites"]
    viable = sites.loc[sites["is_viable"]]
    lines = [
        f"wind: {len(sites):,} turbine sites screened ({meta['turbine_type']}, hub "
        f"{meta['hub_height_m']:g} m), mean {sites['full_load_hours'].mean():,.0f} full-load hours; "
        f"{len(viable):,} viable ({viable['capacity_mw'].sum():,.0f} MW); resource: {meta['resource']}",
    ]
    for _, r in res.tables["wind_targets"].iterrows():
        lines.append(f"  {r['target_id']:<11} {r['status']:<6} {r['tier']:<7} {r['target_mw']:>5.0f} MW: "
                     f"{'met' if r['meets_target'] else 'NOT met'} by {r['potential_mw']:,.0f} MW of viable "
                     f"sites; storage {r['storage_power_mw']:g} MW / {r['storage_energy_mwh']:g} MWh")
    lines += [f"  note: {note}" for note in meta["notes"]]
    return lines


def pv_site_lines(res) -> list[str]:
    """Summary lines of a water / ground PV screen's result."""
    totals = res.tables["pv_sites_city"]
    lines = [f"{r.kind + ' PV:':<12} {int(r.sites_count):>7,} sites  {r.capacity_mwp:>10,.1f} MWp  "
             f"{r.pv_energy_mwh_per_yr / 1000:>9,.1f} GWh/yr  storage {r.storage_power_mw:,.1f} MW"
             f" / {r.storage_energy_mwh:,.1f} MWh"
             + (f"  ({100 * r.synthetic_share:.0f} % on synthetic polygons)" if r.synthetic_share > 0 else "")
             for r in totals.loc[totals["site_category"] == "all"].itertuples()]
    lines.append("  technical potential before land-use approval; see pv_sites_targets for the PV targets")
    return lines


_LINES = {"pv": pv_site_lines, "wind": wind_lines}


@click.command(name="sites")
@city_option
@click.option("--only", "only", multiple=True, type=click.Choice(list(SCREENS)),
              help="Run only these screens (repeatable; default: all).")
@params_file_option
@engine_options(SCREENS.values())
@click.pass_context
def command(ctx, city, only, params_file, **options):
    """Site screens (water-surface and ground PV, distributed wind): exclusions, energy, targets."""
    names = list(only) or list(SCREENS)
    params = params_from_options([SCREENS[n] for n in names], options, params_file)
    lines: list[str] = []
    for name in names:
        spec = SCREENS[name]
        res = run_with_progress(ctx, spec, city, params[spec.name])
        lines += _LINES[name](res)
    for line in lines:
        click.echo(line)
