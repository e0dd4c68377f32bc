"""``twin validate``: the twin held against what is known of the real city (:mod:`engines.validation`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from shell.commands._run import city_option, home_of

__all__ = ["command"]


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"


@click.command(name="validate")
@city_option
@click.option("--json", "as_json", is_flag=True, help='Print {"city": ..., "checks": [...]}.')
@click.option("--checks", "checks_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="Checks file (default data/validation/checks.toml).")
@click.pass_context
def command(ctx, city, as_json, checks_path):
    """Compare the twin with reported and published figures; exit 1 when a check fails.

    Each check: the twin's value, the reference and its source, the tolerance, the verdict
    (pass / fail / not_computed) and the synthetic share of what the twin's value rests on.
    The table is written to the catalog (``validation``) and shown on the app's overview.
    """
    from shell.runners import json_safe, validate_city

    res = validate_city(city, home=home_of(ctx), checks_path=checks_path)
    table = res.tables["validation"]
    rows = json_safe(table.to_dict("records"))
    if as_json:
        click.echo(json.dumps({"city": city, "checks": rows}, ensure_ascii=False))
    else:
        for r in rows:
            share = "" if r["synthetic_share"] is None else f"  synthetic {100 * r['synthetic_share']:.0f} %"
            click.echo(f"{r['verdict'].upper():<12} {r['id']:<32} twin {_fmt(r['twin_value']):>12}  "
                       f"reference {_fmt(r['reference_value']) if r['reference_value'] is not None else ''}"
                       f" [{_fmt(r['reference_low'])}, {_fmt(r['reference_high'])}] {r['unit']}{share}")
            click.echo(f"{'':12} {r['quantity']}; source: {r['source']}")
            if r["note"]:
                click.echo(f"{'':12} {r['note']}")
        counts = table["verdict"].value_counts()
        click.echo(", ".join(f"{n} {v}" for v, n in counts.items()))
    if (table["verdict"] == "fail").any():
        ctx.exit(1)
