"""``twin coverage``: charging circles, charging piles, bus stops, green space and parks."""

from __future__ import annotations

import math
import sys

import click

__all__ = ["command"]

_STEPS = ["read layers", "network", "demand", "drive times", "walking distances", "isochrones",
          "administrative coverage", "summary", "siting", "commit"]


@click.command(name="coverage")
@click.option("--city", required=True, help="City of a built twin.")
@click.option("--urban-min", type=float, default=5.0, show_default=True,
              help="Drive time of the urban charging circle [min].")
@click.option("--rural-min", type=float, default=30.0, show_default=True,
              help="Drive time of the urban-rural charging circle [min].")
@click.option("--sites", "k_sites", type=int, default=10, show_default=True,
              help="Number of new charging stations to suggest.")
@click.option("--spacing", "candidate_spacing_m", type=float, default=2000.0, show_default=True,
              help="Spacing of the grid of candidate sites [m].")
@click.pass_context
def command(ctx, city, urban_min, rural_min, k_sites, candidate_spacing_m):
    """Service coverage against the access targets; suggests new charging sites."""
    from tqdm import tqdm

    from layers.coverage import run_coverage

    with tqdm(total=len(_STEPS), desc=f"coverage {city}", unit="step", file=sys.stderr) as bar:
        def progress(name):
            bar.set_postfix_str(name)
            bar.update(1)

        out = run_coverage(city, ctx.obj["home"] if ctx.obj else None, progress=progress,
                           urban_threshold_min=urban_min, rural_threshold_min=rural_min,
                           k_sites=k_sites, candidate_spacing_m=candidate_spacing_m)
        bar.update(max(bar.total - bar.n, 0))
    for r in out["summary"]:
        thr = r["threshold"]
        thr_s = "" if thr is None or (isinstance(thr, float) and math.isnan(thr)) \
            else f" {thr:g} {r['threshold_unit']}"
        tgt = "" if not r["target_id"] else (
            f"  target {r['target_id']} {r['comparator']} {r['target_value']:g}"
            f" -> {'met' if r['meets_target'] else 'gap ' + format(r['gap'], '.1f')}")
        click.echo(f"{r['metric']:<38} {r['area']:<5}{thr_s:<8} {r['value']:>10.1f} "
                   f"{r['unit']}{tgt}")
    k = out["k_needed"]
    click.echo(f"new stations to reach {100 * out['siting_target_share']:.0f}% charging coverage: "
               + (str(k) if k is not None else f"not reached within {out['params']['k_max']}"))
