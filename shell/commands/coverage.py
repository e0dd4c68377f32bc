"""``twin coverage``: charging circles, charging piles, bus stops, green space and parks."""

from __future__ import annotations

import math

import click

from engines.registry import COVERAGE
from shell.commands._run import city_option, params_file_option, run_with_progress
from shell.options import engine_options, params_from_options
from shell.runners import json_safe

__all__ = ["command"]


@click.command(name="coverage")
@city_option
@params_file_option
@engine_options([COVERAGE])
@click.pass_context
def command(ctx, city, params_file, **options):
    """Service coverage against the access targets (thresholds from the city config); suggests new sites."""
    params = params_from_options([COVERAGE], options, params_file)[COVERAGE.name]
    res = run_with_progress(ctx, COVERAGE, city, params)
    s = res.tables["coverage_summary"]
    for r in json_safe(s[s["level"] == "city"].to_dict("records")):
        thr = r["threshold"]
        thr_s = "" if thr is None or (isinstance(thr, float) and math.isnan(thr)) \
            else f" {thr:g} {r['threshold_unit']}"
        tgt = "" if not r["target_id"] else (
            f"  target {r['target_id']} {r['comparator']} {r['target_value']:g}"
            f" -> {'met' if r['meets_target'] else 'gap ' + format(r['gap'], '.1f')}")
        syn = r.get("synthetic_share")
        syn_s = "" if syn is None else f"  [{100 * syn:.0f}% synthetic]"
        click.echo(f"{r['metric']:<38} {r['area']:<5}{thr_s:<8} {r['demand_kind']:<13} {r['value']:>10.1f} "
                   f"{r['unit']}{tgt}{syn_s}")
    meta = res.meta["coverage"]
    click.echo(f"urban districts: {', '.join(meta.get('urban_districts', [])) or 'none'}; drive times: "
               f"{meta.get('congestion_period', 'free_flow')}, access legs at "
               f"{meta['params'].get('drive_access_speed_kmh', float('nan')):g} km/h")
    k = meta["k_needed"]
    click.echo(f"new stations to reach {100 * meta['siting_target_share']:.0f}% charging coverage: "
               + (str(k) if k is not None else f"not reached within {meta['params']['k_max']}"))
