"""Overview: every tracked target of the city for a target year, as a progress chart.

Bars are shares of each target: the installed or reported baseline (what the city
reported) and what the twin computed (rooftop PV or wind potential, current coverage,
sink stocks), kept apart and labelled. A twin total that rests on a demo sample (its
engine's table says ``is_citywide`` false: a few thousand of the city's buildings) is
shown as such, never added to a reported baseline and never given as a share of the
citywide target: scaled up by the sample's share of the city it would carry the
synthetic generator's assumptions, and a non-random sample gives no honest uncertainty
band. Every computed figure states its synthetic share and scale. Hover shows the
target's source: seed document and line.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from engines.pv.rooftop import CITYWIDE_SHARE
from mapapp import data
from mapapp import mapstyle as ms
from mapapp.i18n import category, column, t, unit
from mapapp.pages._common import (
    INPUT_LAYERS,
    SCOPE_COLUMNS,
    Ctx,
    city_map,
    layer_shares,
    name_col,
    scope_text,
    show_scope,
    show_table,
)
from mapapp.pages._trajectory import render_trajectory
from twin.config import SEEDS, load_city

__all__ = ["progress_frame", "render"]

#: Metric prefix -> engine whose command computes it.
_ENGINE_OF = (("pv_", "pv"), ("park_pv", "pv"), ("wind_", "wind"), ("storage_", "wind"),
              ("charging_", "coverage"), ("county_charging", "coverage"),
              ("township_charging", "coverage"), ("highway_", "coverage"),
              ("public_piles", "coverage"), ("bus_stop", "coverage"), ("green_space", "coverage"),
              ("park_coverage", "coverage"), ("forest_", "sinks"), ("wetland_", "sinks"),
              ("tea_garden", "sinks"))
#: Metrics in which the twin's potential adds to the installed baseline.
_ADDITIVE_UNITS = ("mw", "mwp", "gw", "kw", "kwp")


def _is_sample(flags: pd.Series) -> np.ndarray:
    """True where ``is_citywide`` is known and false (NaN: the engine does not say)."""
    return np.array([v is not None and not pd.isna(v) and not bool(v) for v in flags], dtype=bool)


def _engine(metric: str) -> str | None:
    return next((e for p, e in _ENGINE_OF if metric.startswith(p)), None)


def _seed_titles(source: str) -> str:
    keys = [r.split(":")[0].strip() for r in str(source).split(";") if r.strip()]
    return " | ".join(dict.fromkeys(SEEDS.get(k, k) for k in keys))


def progress_frame(targets: pd.DataFrame, tracked: pd.DataFrame, year: int, lang: str,
                   city: str, computed: set[str]) -> pd.DataFrame:
    """Targets of ``year`` (and those without a year) beside what the engines computed.

    Parameters
    ----------
    targets : DataFrame
        :meth:`twin.config.CityConfig.targets_frame`.
    tracked : DataFrame
        :func:`mapapp.data.target_progress`.
    year : int
        Target year.
    lang : str
        Label language.
    city : str
        City id (for the commands).
    computed : set of str
        Engines whose tables exist.

    Returns
    -------
    DataFrame
        One row per governing target with ``baseline`` (installed or reported),
        ``potential`` (computed by the twin), ``reach``, ``gap``, ``share_pct``,
        ``state``, ``is_sample``, ``basis`` (what the twin's figure rests on) and the
        source. Where the twin's figure rests on a demo sample (``is_citywide`` false)
        ``reach``, ``gap`` and ``share_pct`` are NaN and the state is ``demo_sample``:
        the figure is never added to the baseline nor set against the citywide target.
    """
    tg = targets.loc[(targets["kind"] == "target") & targets["is_governing"]
                     & ((targets["year"] == year) | targets["year"].isna())].copy()
    tg = tg.merge(tracked, how="left", left_on="id", right_on="target_id")
    for c in SCOPE_COLUMNS:
        if c not in tg.columns:
            tg[c] = np.nan
    tg["indicator"] = tg["indicator_zh" if lang == "zh" else "indicator_en"].astype(str)
    tg["engine_cmd"] = tg["metric"].map(_engine)
    additive = tg["unit"].isin(_ADDITIVE_UNITS).to_numpy()
    base = tg["baseline_value"].astype(float).to_numpy(na_value=np.nan)
    base = np.where(np.isnan(base), tg["baseline_engine"].astype(float).to_numpy(na_value=np.nan),
                    base) if "baseline_engine" in tg else base
    pot = tg["potential"].astype(float).to_numpy(na_value=np.nan)
    value = tg["value"].astype(float).to_numpy(na_value=np.nan)
    sample = _is_sample(tg["is_citywide"]) & np.isfinite(pot)
    reach = np.where(sample, np.nan, np.where(additive, np.nan_to_num(base) + pot, pot))
    le = (tg["comparator"] == "<=").to_numpy()
    gap = np.where(le, reach - value, value - reach)
    tg["baseline"], tg["potential"], tg["reach"], tg["gap"] = base, pot, reach, gap
    tg["is_sample"] = sample
    with np.errstate(invalid="ignore", divide="ignore"):
        tg["share_pct"] = np.where(value > 0, 100.0 * reach / value, np.nan)
        tg["base_pct"] = np.where(additive & (value > 0), 100.0 * np.nan_to_num(base) / value, 0.0)
    tg["pot_pct"] = np.clip(np.nan_to_num(tg["share_pct"]) - tg["base_pct"], 0, None)
    state = np.select([np.isfinite(gap) & (gap <= 0), np.isfinite(gap)], ["met", "gap"],
                      default="not_computed")
    # no engine for the metric, or its engine ran but does not track this target (e.g. a scope)
    untracked = ~tg["engine_cmd"].map(lambda e: isinstance(e, str) and e not in computed
                                      ).to_numpy(bool)
    state = np.where(untracked & (state == "not_computed"), "not_tracked", state)
    state = np.where(sample, "demo_sample", state)
    tg["state_key"] = state
    tg["state"] = [t(f"state.{s}", lang) for s in state]
    cmds = {e: data.command_for(e, city) for e in data.ENGINE_TABLES}
    tg["command"] = [cmds[e] if isinstance(e, str) and e not in computed else ""
                     for e in tg["engine_cmd"]]
    tg["unit_label"] = tg["unit"].map(lambda u: unit(u, lang))
    tg["status_label"] = tg["status"].map(lambda s: category(s, lang))
    tg["source_title"] = tg["source"].map(_seed_titles)
    tg["label"] = tg["id"] + " " + tg["indicator"].str.slice(0, 40)
    tg["basis"] = [scope_text(row, lang) if np.isfinite(p) else ""
                   for row, p in zip(tg[list(SCOPE_COLUMNS)].to_dict("records"), pot, strict=True)]
    return tg.reset_index(drop=True)


def _chart(pf: pd.DataFrame, lang: str) -> alt.Chart:
    """Stacked bars of the baseline and the twin's share of each target, a rule at 100 %.

    A target whose twin figure is a demo sample gets its baseline bar only, and the
    words "demo sample: not comparable" beside it.
    """
    long = pd.concat([
        pf.assign(series=t("series.baseline", lang), pct=pf["base_pct"], order=0),
        pf.assign(series=t("series.potential", lang), pct=pf["pot_pct"], order=1),
    ], ignore_index=True)
    long["pct"] = long["pct"].clip(upper=200)
    tip = [alt.Tooltip("id:N", title=column("target_id", lang)),
           alt.Tooltip("indicator:N", title=column("indicator", lang)),
           alt.Tooltip("value:Q", title=column("target_value", lang), format=",.4g"),
           alt.Tooltip("unit_label:N", title=column("unit", lang)),
           alt.Tooltip("baseline:Q", title=column("baseline", lang), format=",.4g"),
           alt.Tooltip("potential:Q", title=column("potential", lang), format=",.4g"),
           alt.Tooltip("basis:N", title=column("basis", lang)),
           alt.Tooltip("gap:Q", title=column("gap", lang), format=",.4g"),
           alt.Tooltip("state:N", title=column("state", lang)),
           alt.Tooltip("source:N", title=column("source", lang)),
           alt.Tooltip("source_title:N", title=column("source_title", lang))]
    y = alt.Y("label:N", sort=None, title=None)
    bars = alt.Chart(long).mark_bar().encode(
        x=alt.X("pct:Q", stack="zero", title=t("series.share", lang),
                scale=alt.Scale(domain=[0, 200], clamp=True)),
        y=y, order="order:Q",
        color=alt.Color("series:N", title=None,
                        scale=alt.Scale(range=["#b0b0b0", "#2a9d8f"]),
                        legend=alt.Legend(orient="top")),
        tooltip=tip)
    rule = alt.Chart(pd.DataFrame({"x": [100.0]})).mark_rule(color="#d62728", strokeDash=[4, 3]
                                                             ).encode(x="x:Q")
    layers = [bars, rule]
    samples = pf.loc[pf["is_sample"]]
    if len(samples):
        notes = samples.assign(x=samples["base_pct"].clip(upper=150) + 2)
        layers.append(alt.Chart(notes).mark_text(align="left", baseline="middle", color="#555555",
                                                 fontStyle="italic")
                      .encode(x="x:Q", y=y, text="state:N", tooltip=tip))
    return alt.layer(*layers).properties(height=max(120, 26 * len(pf)))


def _scope_notes(ctx: Ctx, pf: pd.DataFrame) -> None:
    """What each engine's figures rest on, under the chart.

    A demo sample: an info that its value is kept apart from the baseline. Otherwise a
    caption with the synthetic share (of the engine's table, or of the layers it reads).
    """
    lang = ctx.lang
    done = pf.loc[pf["potential"].notna() & pf["engine_cmd"].notna()]
    for engine, rows in done.groupby("engine_cmd", sort=False):
        ids = ", ".join(rows["id"])
        text = scope_text(rows[list(SCOPE_COLUMNS)], lang,
                          layers=layer_shares(ctx, INPUT_LAYERS.get(str(engine), ())))
        if rows["is_sample"].any():
            st.info(t("ov.not_comparable", lang, ids=", ".join(rows.loc[rows["is_sample"], "id"]),
                      scope=text))
        elif text:
            st.caption(t("ov.scope_of", lang, what=t(f"engine.{engine}", lang), ids=ids, scope=text))


def _pv_cards(ctx: Ctx, pf: pd.DataFrame) -> None:
    """Installed PV (reported), the twin's rooftop potential and the target, side by side.

    Cards, not one sum: the potential card says "demo sample" when it is one.
    """
    lang = ctx.lang
    pv = pf.loc[(pf["metric"] == "pv_capacity_mw") & pf["year"].notna()
                & (pf["baseline"].notna() | pf["potential"].notna())]
    if pv.empty:
        return
    r = pv.iloc[0]
    mw = unit("mw", lang)
    cards = []
    if pd.notna(r["baseline"]):
        by = r.get("baseline_year")
        year = "" if by is None or pd.isna(by) else str(int(by))
        cards.append((t("ov.pv_installed", lang, year=year), f"{r['baseline']:,.0f} {mw}",
                      {"help": str(r["source"])}))
    if pd.notna(r["potential"]):
        sample = bool(r["is_sample"])
        cards.append((t("ov.pv_potential", lang), f"{r['potential']:,.0f} {mw}",
                      {"delta": t("ov.demo_sample", lang) if sample else None, "delta_color": "off",
                       "delta_arrow": "off", "help": r["basis"] or None}))
    cards.append((t("ov.pv_target", lang, year=int(r["year"])), f"{r['value']:,.0f} {mw}", {}))
    for col, (label, value, kw) in zip(st.columns(len(cards)), cards, strict=True):
        col.metric(label, value, **kw)


def _validation(ctx: Ctx, have: set[str]) -> None:
    """The "does the twin match the city?" panel: the ``validation`` table of ``twin validate``."""
    lang = ctx.lang
    st.subheader(t("ov.validation", lang))
    st.caption(t("ov.validation_help", lang))
    if "validation" not in have:
        st.info(t("ov.validation_missing", lang, cmd=f"twin validate --city {ctx.city}"))
        return
    v = data.table(*ctx.key, "validation")
    counts = v["verdict"].value_counts()
    st.markdown(t("ov.validation_summary", lang, passed=int(counts.get("pass", 0)),
                  failed=int(counts.get("fail", 0)), missing=int(counts.get("not_computed", 0))))
    out = v[["id", "quantity", "verdict", "twin_value", "reference_value", "reference_low",
             "reference_high", "unit", "synthetic_share", "source", "note"]].copy()
    out = out.rename(columns={"id": "check_id"})
    out["verdict"] = [category(x, lang) for x in out["verdict"]]
    out["unit"] = [unit(x, lang) for x in out["unit"]]
    show_table(out.round({"twin_value": 2, "reference_value": 2, "reference_low": 2,
                          "reference_high": 2, "synthetic_share": 3}), lang, key="ov_validation")
    show_scope(ctx, v[["synthetic_share"]])


def render(ctx: Ctx) -> None:
    """The overview page."""
    lang = ctx.lang
    cfg = load_city(ctx.city)
    have = set(data.tables(*ctx.key))
    computed = {e for e, (_, names) in data.ENGINE_TABLES.items() if e != "build"
                and any(n in have for n in names)}
    st.subheader(t("ov.progress", lang, year=ctx.year))
    st.caption(t("ov.progress_help", lang))
    pf = progress_frame(cfg.targets_frame(), data.target_progress(*ctx.key), ctx.year, lang,
                        ctx.city, computed)
    if pf.empty:
        st.info(t("ov.no_targets", lang, year=ctx.year))
    else:
        _pv_cards(ctx, pf)
        st.altair_chart(_chart(pf, lang), width="stretch")
        _scope_notes(ctx, pf)
        for cmd in sorted({c for c in pf["command"] if c}):
            st.info(t("app.not_computed", lang, cmd=cmd))
        st.subheader(t("ov.targets_table", lang))
        cols = ["id", "indicator", "comparator", "value", "unit_label", "year", "baseline",
                "potential", "basis", "synthetic_share", "gap", "share_pct", "state",
                "status_label", "source", "source_title", "command"]
        out = pf[cols].rename(columns={"unit_label": "unit", "status_label": "status",
                                       "value": "target_value", "id": "target_id"})
        out["synthetic_share"] = pd.to_numeric(out["synthetic_share"], errors="coerce")
        show_table(out.round({"baseline": 2, "potential": 2, "gap": 2, "share_pct": 1,
                              "synthetic_share": 3}), lang, key="ov_targets")

    render_trajectory(ctx, pf)
    _validation(ctx, have)

    st.subheader(t("ov.buildings_per_district", lang))
    shapes, dframe, _ = data.districts(*ctx.key)
    counts = data.building_counts(*ctx.key)
    d = dframe.merge(counts, on="adcode", how="left").fillna({"buildings": 0})
    d["buildings"] = d["buildings"].astype(int)
    nc = name_col(lang)
    areas = shapes.merge(d[["adcode", "buildings"]], on="adcode", how="left").fillna({"buildings": 0})
    areas["fill"] = ms.ramp(areas["buildings"].to_numpy(float), 0,
                            max(float(d["buildings"].max()), 1.0), palette="blues", alpha=170).tolist()
    areas["key"] = areas["adcode"]
    label = column("buildings", lang)
    areas["tip"] = [f"{n}\n{label}: {int(b):,}" for n, b in zip(areas[nc], areas["buildings"],
                                                                 strict=True)]
    city_map(ctx, areas, key="ov_map")
    show_table(d[[nc, "adcode", "buildings"]].rename(columns={nc: "district"}), lang,
               key="ov_districts")
    n, n_syn = int(d["buildings"].sum()), int(counts["synthetic"].sum())
    show_scope(ctx, {"synthetic_share": n_syn / n if n else float("nan"), "n_buildings": n,
                     "city_buildings_estimate": cfg.full_scale_buildings,
                     "is_citywide": n >= CITYWIDE_SHARE * cfg.full_scale_buildings and n_syn == 0})

    with st.expander(t("ov.layers", lang)):
        lay = data.layers_table(*ctx.key)
        lay = lay.assign(synthetic_share=(lay["n_synthetic"] / lay["n_rows"].clip(lower=1)).round(3))
        show_table(lay[["name", "kind", "n_rows", "synthetic_share", "source"]]
                   .rename(columns={"name": "layer"}), lang, key="ov_layers")
    attr = "; ".join(str(v) for v in data.meta(*ctx.key).get("attribution", {}).values())
    st.caption(t("app.synthetic_note", lang, attr=attr))
