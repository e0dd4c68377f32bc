"""The overview's progress over time: installed by year from the bureau's ledger, against the path.

For each target metric a ledger counts toward (``[metrics]`` of ``data/ledger/ledger.toml``:
PV, wind and storage capacity from ``pv_installations``; public piles from
``charging_installations``), a line chart of installed by year (the reported baseline
plus the ledger's additions after the base year) beside the straight-line path to the
metric's targets (e.g. 2020 -> 2025 -> 2030), ahead or behind the path by how much in
the ledger's last year, what the twin's remaining potential could still add (kept apart
from installed; a demo-sample potential is marked not comparable), and the additions
per district and year. A synthetic ledger (the demo's) is labelled synthetic wherever it
is shown.
"""

from __future__ import annotations

from typing import NamedTuple

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from mapapp import data
from mapapp.i18n import t, unit
from mapapp.pages._common import Ctx, chart, html_table, name_col
from twin.schema import LEDGERS
from twin.trajectory import ledger_settings, trajectory

__all__ = ["ledger_baseline", "metric_trajectory", "render_trajectory"]


def _rows_for(ledger: pd.DataFrame, spec: dict) -> pd.DataFrame:
    rows = ledger
    if "kinds" in spec and "install_kind" in rows:
        rows = rows.loc[rows["install_kind"].isin(spec["kinds"])]
    if spec.get("public_only") and "is_public" in rows:
        rows = rows.loc[rows["is_public"].astype(bool)]
    return rows


def ledger_baseline(targets: pd.DataFrame, rows: pd.DataFrame, column: str,
                    base_year: int) -> tuple[int, float, str]:
    """The baseline of a metric: reported by the plans, else the ledger's total to the base year.

    Returns
    -------
    (int, float, str)
        Baseline year, value (NaN when neither the plans nor the ledger give one) and where
        it comes from: ``reported``, ``ledger`` or ``none``.
    """
    rep = targets.dropna(subset=["baseline_value", "baseline_year"])
    if len(rep):
        r = rep.iloc[0]
        return int(r["baseline_year"]), float(r["baseline_value"]), "reported"
    before = rows.loc[rows["in_service_year"] <= base_year, column].astype(float)
    if len(before):
        return base_year, float(before.sum()), "ledger"
    return base_year, float("nan"), "none"


def metric_trajectory(targets: pd.DataFrame, rows: pd.DataFrame, column: str,
                      base_year: int) -> tuple[pd.DataFrame, str]:
    """Installed, path and ahead/behind by year for one metric (to the last target year).

    ``installed`` is NaN after the ledger's last year (nothing is known of later years);
    with no baseline it is the ledger's additions since the base year, and the path is NaN.
    """
    by, base, origin = ledger_baseline(targets, rows, column, base_year)
    pts = [(int(y), float(v)) for y, v in zip(targets["year"], targets["value"], strict=True)
           if pd.notna(y) and pd.notna(v)]
    last_data = int(rows["in_service_year"].max()) if len(rows) else by
    last = max([last_data, *[p[0] for p in pts]])
    traj = trajectory(by, base if np.isfinite(base) else 0.0, pts, rows["in_service_year"],
                      rows[column].astype(float), last)
    if not np.isfinite(base):
        traj[["path", "ahead", "ahead_pct"]] = np.nan
    future = traj["year"] > last_data
    traj.loc[future, ["installed", "added", "ahead", "ahead_pct"]] = np.nan
    return traj, origin


def _chart(traj: pd.DataFrame, targets: pd.DataFrame, lang: str, unit_label: str) -> alt.LayerChart:
    inst, path = t("traj.installed", lang), t("traj.path", lang)
    long = pd.concat([traj.assign(series=inst, v=traj["installed"]),
                      traj.assign(series=path, v=traj["path"])], ignore_index=True).dropna(subset=["v"])
    y = alt.Y("v:Q", title=unit_label)
    x = alt.X("year:O", title=t("traj.year", lang), axis=alt.Axis(labelAngle=0))
    lines = alt.Chart(long).mark_line(point=True).encode(
        x=x, y=y, color=alt.Color("series:N", title=None, scale=alt.Scale(
            domain=[inst, path], range=["#2a9d8f", "#888888"]), legend=alt.Legend(orient="top")),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=[inst, path], range=[[1, 0], [5, 4]]),
                                  legend=None),
        tooltip=[alt.Tooltip("year:O", title=t("traj.year", lang)),
                 alt.Tooltip("series:N", title=" "), alt.Tooltip("v:Q", format=",.0f", title=unit_label)])
    tg = targets.dropna(subset=["year", "value"]).assign(
        label=lambda d: d["id"] + " " + d["value"].map(lambda v: f"{v:,.0f}"),
        year=lambda d: d["year"].astype(int))
    pts = alt.Chart(tg).mark_point(shape="diamond", size=120, color="#d62728", filled=True).encode(
        x="year:O", y="value:Q", tooltip=["id:N", alt.Tooltip("value:Q", format=",.0f")])
    text = alt.Chart(tg).mark_text(align="left", dx=8, color="#d62728").encode(
        x="year:O", y="value:Q", text="label:N")
    return alt.layer(lines, pts, text).properties(height=260)


def _charts(titles: tuple[str, ...], trajs: tuple[pd.DataFrame, ...],
            targets: tuple[pd.DataFrame, ...], units: tuple[str, ...], lang: str) -> alt.VConcatChart:
    """Every metric's trajectory (:func:`_chart`) as one panel of one view, titled by the metric.

    Each panel keeps its own y scale (its own unit); the series' colours and dashes and
    their legend are shared.
    """
    panels = [_chart(tr, tg, lang, u).properties(
        title=alt.TitleParams(title, anchor="start", fontSize=13), width=620)
        for title, tr, tg, u in zip(titles, trajs, targets, units, strict=True)]
    return alt.vconcat(*panels, spacing=18).resolve_scale(
        x="independent", y="independent", color="shared", strokeDash="shared",
    ).configure_legend(labelLimit=420)


class _Section(NamedTuple):
    """One ledger metric of the trajectory: its targets, ledger rows and path (if city-wide)."""

    metric: str
    spec: dict
    targets: pd.DataFrame
    city_wide: pd.DataFrame
    rows: pd.DataFrame
    unit_label: str
    title: str
    traj: pd.DataFrame | None
    origin: str


def _potential(pf: pd.DataFrame, metric: str, lang: str, unit_label: str) -> str:
    rows = pf.loc[(pf["metric"] == metric) & pf["potential"].notna()] if len(pf) else pf
    if rows.empty:
        return t("traj.potential_none", lang)
    r = rows.iloc[0]
    if bool(r["is_sample"]):
        return t("traj.potential_sample", lang, value=f"{r['potential']:,.0f}", unit=unit_label)
    return t("traj.potential", lang, value=f"{r['potential']:,.0f}", unit=unit_label)


def _districts_table(ctx: Ctx, rows: pd.DataFrame, column: str) -> pd.DataFrame:
    _, dframe, _ = data.districts(*ctx.key)
    nc = name_col(ctx.lang)
    pivot = rows.pivot_table(index="district_adcode", columns="in_service_year", values=column,
                             aggfunc="sum", fill_value=0.0)
    pivot.columns = [str(c) for c in pivot.columns]
    pivot[t("traj.total", ctx.lang)] = pivot.sum(axis=1)
    out = dframe[["adcode", nc]].merge(pivot, left_on="adcode", right_index=True, how="inner")
    return out.rename(columns={nc: "district"}).round(1)


def render_trajectory(ctx: Ctx, pf: pd.DataFrame) -> None:
    """The "progress over time" section of the overview.

    Parameters
    ----------
    ctx : Ctx
        The page context.
    pf : DataFrame
        :func:`mapapp.pages.overview.progress_frame` of the chosen year (for the potential).
    """
    lang = ctx.lang
    st.subheader(t("traj.title", lang))
    st.caption(t("traj.help", lang))
    have = set(data.tables(*ctx.key))
    present = [n for n in LEDGERS if n in have]
    if not present:
        st.info(t("traj.no_ledger", lang, city=ctx.city))
        return
    cfg = ledger_settings()
    base_year = int(cfg["base_year"])
    targets = data.table(*ctx.key, "targets")
    targets = targets.loc[(targets["kind"] == "target") & targets["is_governing"].astype(bool)]
    ledgers = {n: data.table(*ctx.key, n) for n in present}
    for name, frame in ledgers.items():
        n_syn = int(frame["is_synthetic"].astype(bool).sum())
        if n_syn:
            st.warning(t("traj.synthetic", lang, ledger=t(f"traj.ledger.{name}", lang), n=n_syn,
                         total=len(frame), share=f"{100.0 * n_syn / max(len(frame), 1):.0f}"))
    # two passes: the sections first, then one chart of every metric (one Vega view: each
    # view costs its own vega-embed parse and render in the browser) above their figures
    sections = []
    for metric, spec in cfg["metrics"].items():
        tg = targets.loc[(targets["metric"] == metric) & targets["year"].notna()]
        if tg.empty or spec["ledger"] not in ledgers:
            continue
        city_wide = tg.loc[tg["area"] == "all"]
        rows = _rows_for(ledgers[spec["ledger"]], spec)
        unit_label = unit(str(tg["unit"].iloc[0]), lang)
        title = f"{tg['indicator_zh' if lang == 'zh' else 'indicator_en'].iloc[0]} ({', '.join(tg['id'])})"
        traj, origin = (metric_trajectory(city_wide, rows, spec["column"], base_year)
                        if len(city_wide) else (None, ""))
        sections.append(_Section(metric, spec, tg, city_wide, rows, unit_label, title, traj,
                                 origin))
    drawn = [s for s in sections if s.traj is not None]
    if drawn:
        chart(_charts, tuple(s.title for s in drawn), tuple(s.traj for s in drawn),
              tuple(s.city_wide for s in drawn), tuple(s.unit_label for s in drawn), lang,
              width="content")
    for metric, spec, tg, _, rows, unit_label, title, traj, origin in sections:
        st.markdown(f"**{title}**")
        if traj is None:
            st.caption(t("traj.area_only", lang, ids=", ".join(tg["id"]),
                         areas=", ".join(sorted(set(tg["area"])))))
            continue
        known = traj.dropna(subset=["installed"])
        last = known.iloc[-1]
        syn = bool(rows["is_synthetic"].astype(bool).any()) if len(rows) else False
        cols = st.columns(3)
        key = "traj.added_since" if origin == "none" else "traj.installed_in"
        label = t(key, lang, year=int(last["year"]), base=base_year)
        cols[0].metric(t("traj.synthetic_label", lang, label=label) if syn else label,
                       f"{last['installed']:,.0f} {unit_label}",
                       help=t(f"traj.origin.{origin}", lang, year=base_year))
        if np.isfinite(last["ahead"]):
            word = "traj.ahead" if last["ahead"] >= 0 else "traj.behind"
            cols[1].metric(t("traj.vs_path", lang, year=int(last["year"])),
                           t(word, lang, value=f"{abs(last['ahead']):,.0f}", unit=unit_label,
                             pct=f"{abs(last['ahead_pct']):.1f}"),
                           delta=f"{last['ahead']:+,.0f} {unit_label}")
        else:
            cols[1].metric(t("traj.vs_path", lang, year=int(last["year"])), "-",
                           help=t("traj.origin.none", lang, year=base_year))
        cols[2].metric(t("traj.remaining", lang), _potential(pf, metric, lang, unit_label))
        table = traj.rename(columns={"installed": "traj_installed", "added": "traj_added",
                                     "path": "traj_path", "ahead": "traj_ahead",
                                     "ahead_pct": "traj_ahead_pct"})
        # light HTML tables, the districts folded (<details>): no data grid, no rerun to open
        body = html_table(table.round(1), lang)
        if len(rows):
            body += html_table(_districts_table(ctx, rows, spec["column"]), lang,
                               summary=t("traj.by_district", lang))
        st.html(body)
    if not drawn:
        st.info(t("traj.no_metric", lang))
