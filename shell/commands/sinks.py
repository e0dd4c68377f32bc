"""``twin sinks``: carbon-sink accounting on a built twin (see :mod:`engines.sinks.accounting`)."""

from __future__ import annotations

import click

from engines.registry import SINKS
from shell.commands._run import city_option, params_file_option, run_with_progress
from shell.options import engine_options, params_from_options

__all__ = ["command"]


@click.command("sinks")
@city_option
@params_file_option
@engine_options([SINKS])
@click.pass_context
def command(ctx, city, params_file, **options):
    """Carbon stocks, sequestration and sink indicators against the seed targets."""
    params = params_from_options([SINKS], options, params_file)[SINKS.name]
    res = run_with_progress(ctx, SINKS, city, params)
    ind = res.tables["sink_indicators"]
    for kind in ("polygons", "raster"):
        rows = ind.loc[(ind["level"] == "city") & (ind["input_kind"] == kind)]
        if rows.empty:
            continue
        syn = rows["synthetic_share"].dropna()
        click.echo(f"-- {kind} path (synthetic share {100 * syn.iloc[0]:.0f} % of the area)"
                   if len(syn) else f"-- {kind} path")
        for r in rows.drop_duplicates(["indicator", "method"]).itertuples():
            tgt = f"  target {r.target_id} {r.comparator} {r.target_value:,.2f}" if r.target_id else ""
            base = ""
            if r.baseline_value == r.baseline_value and r.baseline_value is not None:
                flag = "  WARNING: off by more than" if r.is_off_baseline is True else "  within"
                base = (f"  baseline {r.baseline_year} {r.baseline_value:,.2f} ({r.baseline_id})"
                        f"  ratio {r.baseline_ratio:.3f}{flag} ±{r.baseline_tolerance_pct:g} %")
            unver = "  [rests on unverified factors]" if r.unverified_factors else ""
            click.echo(f"{r.indicator:38s} {r.value:>18,.2f}{tgt}{base}{unver}")
    if "sink_scenario" in res.tables:
        click.echo(f"scenario: {len(res.tables['sink_scenario'])} indicator rows in table sink_scenario")
