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
    city_rows = ind.loc[(ind["level"] == "city") & (ind["input_kind"] == "polygons")]
    for r in city_rows.drop_duplicates(["indicator", "method"]).itertuples():
        tgt = f"  target {r.target_id} {r.comparator} {r.target_value:,.2f}" if r.target_id else ""
        click.echo(f"{r.indicator:32s} {r.value:>18,.2f}{tgt}")
    if "sink_scenario" in res.tables:
        click.echo(f"scenario: {len(res.tables['sink_scenario'])} indicator rows in table sink_scenario")
