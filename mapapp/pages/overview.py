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

import textwrap

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
    chart,
    city_map,
    layer_shares,
    name_col,
    scope_text,
    show_html_table,
    show_scope,
    show_table,
)
from mapapp.pages._trajectory import render_trajectory
from twin.config import SEEDS, load_city

__all__ = ["THEMES", "progress_frame", "render", "theme_of", "wrap_label"]

#: Metric prefix -> engine whose command computes it.
_ENGINE_OF = (("pv_", "pv"), ("park_pv", "pv"), ("wind_", "wind"), ("storage_", "wind"),
              ("charging_", "coverage"), ("county_charging", "coverage"),
              ("township_charging", "coverage"), ("highway_", "coverage"),
              ("public_piles", "coverage"), ("bus_stop", "coverage"), ("green_space", "coverage"),
              ("park_coverage", "coverage"), ("forest_", "sinks"), ("wetland_", "sinks"),
              ("tea_garden", "sinks"))
#: Metrics in which the twin's potential adds to the installed baseline.
_ADDITIVE_UNITS = ("mw", "mwp", "gw", "kw", "kwp")


#: Themes of the overview chart in display order, with the target-id prefixes they hold
#: (``PV-H1`` -> PV; ``S-Z1`` storage and ``S-H8`` grid sit with wind; ``T-`` transit with charging).
THEMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pv", ("PV",)), ("wind_storage", ("W", "S")), ("charging_transit", ("C", "T")),
    ("sinks", ("K",)), ("buildings", ("B",)), ("other", ()))
#: Bars are drawn up to this share of the target [%]; longer ones are cut and their value printed.
BAR_CLIP_PCT = 150.0
#: Characters per line of a wrapped target label (a CJK character is about two Latin ones wide).
_WRAP_EN, _WRAP_ZH = 38, 19


def theme_of(target_id: str) -> str:
    """The theme of a target from its id prefix (``"K-H2"`` -> ``"sinks"``); ``"other"`` if none."""
    prefix = str(target_id).split("-", 1)[0].upper()
    return next((th for th, prefixes in THEMES if prefix in prefixes), "other")


def wrap_label(text: str, lang: str) -> str:
    """``text`` broken into lines for a chart axis; nothing is cut off.

    At spaces in English (:data:`_WRAP_EN` characters a line), every :data:`_WRAP_ZH`
    characters in Chinese (no spaces there); the target id stays on the first line.
    """
    if lang == "zh":
        head, _, rest = text.partition(" ")
        first = _WRAP_ZH - (len(head) + 1) // 2  # the Latin id is about half as wide
        lines = [f"{head} {rest[:first]}",
                 *(rest[i:i + _WRAP_ZH] for i in range(first, len(rest), _WRAP_ZH))]
        return "\n".join(x for x in lines if x)
    return "\n".join(textwrap.wrap(text, _WRAP_EN, break_long_words=True)) or text


def _fmt(x: float) -> str:
    """A value for a bar label: whole and thousands-separated from 100, else 3 significant figures."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _bar_text(row: dict, lang: str) -> str:
    """What a bar says at its end.

    The true share of the target (also past the cut) and the gap in the target's unit,
    or the state where no share can be given (not computed, a demo sample).
    """
    share, gap = row["share_pct"], row["gap"]
    if row["is_sample"] or share is None or not np.isfinite(share):
        return str(row["state"])
    text = f"{share:,.0f} %"
    if np.isfinite(gap) and gap > 0:
        return text + " · " + t("bar.gap", lang, gap=_fmt(gap), unit=row["unit_label"])
    return text + " · " + t("bar.met", lang)


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
    tg["label"] = [wrap_label(f"{i} {ind}", lang) for i, ind in zip(tg["id"], tg["indicator"],
                                                                     strict=True)]
    tg["theme"] = tg["id"].map(theme_of)
    tg["bar_text"] = [_bar_text(r, lang) for r in tg.to_dict("records")]
    tg["basis"] = [scope_text(row, lang) if np.isfinite(p) else ""
                   for row, p in zip(tg[list(SCOPE_COLUMNS)].to_dict("records"), pot, strict=True)]
    return tg.reset_index(drop=True)


def _bars_long(pf: pd.DataFrame, lang: str) -> pd.DataFrame:
    """One row per target and series (baseline, computed) for the chart.

    ``x0``..``x1`` is the drawn extent, cut at :data:`BAR_CLIP_PCT`; ``pct`` keeps the
    true share of the series; ``is_cut`` says the bar was cut; ``text_x`` is where the
    bar's end label (``bar_text``) goes.
    """
    base = pf["base_pct"].astype(float).to_numpy()
    top = base + pf["pot_pct"].astype(float).to_numpy()
    b1, t1 = np.minimum(base, BAR_CLIP_PCT), np.minimum(top, BAR_CLIP_PCT)
    long = pd.concat([
        pf.assign(series=t("series.baseline", lang), pct=pf["base_pct"], order=0, x0=0.0, x1=b1),
        pf.assign(series=t("series.potential", lang), pct=pf["pot_pct"], order=1, x0=b1, x1=t1),
    ], ignore_index=True)
    long["is_cut"] = np.concatenate([base > BAR_CLIP_PCT, top > BAR_CLIP_PCT])
    long["text_x"] = np.concatenate([b1, t1])
    return long


def _chart(pf: pd.DataFrame, lang: str) -> alt.VConcatChart:
    """Bars of the baseline and the twin's share of each target, grouped by theme, a rule at 100 %.

    One panel per theme (:data:`THEMES`), every target labelled in full (wrapped). Each bar
    prints its share of the target and the gap in the target's unit; a bar past
    :data:`BAR_CLIP_PCT` is cut there and its true share printed ("230 %"). A target whose
    twin figure is a demo sample gets its baseline bar only and the words "demo sample: not
    comparable" beside it.
    """
    long = _bars_long(pf, lang)
    tip = [alt.Tooltip("id:N", title=column("target_id", lang)),
           alt.Tooltip("indicator:N", title=column("indicator", lang)),
           alt.Tooltip("value:Q", title=column("target_value", lang), format=",.4g"),
           alt.Tooltip("unit_label:N", title=column("unit", lang)),
           alt.Tooltip("baseline:Q", title=column("baseline", lang), format=",.4g"),
           alt.Tooltip("potential:Q", title=column("potential", lang), format=",.4g"),
           alt.Tooltip("basis:N", title=column("basis", lang)),
           alt.Tooltip("gap:Q", title=column("gap", lang), format=",.4g"),
           alt.Tooltip("share_pct:Q", title=column("share_pct", lang), format=",.0f"),
           alt.Tooltip("state:N", title=column("state", lang)),
           alt.Tooltip("source:N", title=column("source", lang)),
           alt.Tooltip("source_title:N", title=column("source_title", lang))]
    domain = [0.0, BAR_CLIP_PCT + 60.0]  # room right of the cut for the printed values
    x_title = t("series.share", lang)
    x = alt.X("x0:Q", title=x_title, scale=alt.Scale(domain=domain, clamp=True))
    axis = alt.Axis(labelExpr="split(datum.label, '\\n')", labelLimit=360, labelOverlap=False,
                    minExtent=250, labelFontSize=11, labelLineHeight=13)
    y = alt.Y("label:N", sort=None, title=None, axis=axis)
    series = [t("series.baseline", lang), t("series.potential", lang)]  # grey, then colour
    color = alt.Color("series:N", title=None,
                      scale=alt.Scale(domain=series, range=["#b0b0b0", "#2a9d8f"]),
                      legend=alt.Legend(orient="top", labelLimit=400))
    panels = []
    for theme, _ in THEMES:
        rows = long.loc[long["theme"] == theme]
        if rows.empty:
            continue
        lines = int(rows["label"].str.count("\n").max()) + 1  # the tallest label sets the step
        base = alt.Chart(long).transform_filter(alt.datum.theme == theme)
        bars = base.mark_bar().encode(x=x, x2="x1:Q", y=y, color=color, order="order:Q",
                                      tooltip=tip)
        text = base.transform_filter(alt.datum.order == 1).mark_text(
            align="left", baseline="middle", dx=4, fontSize=11).encode(
            x=alt.X("text_x:Q", title=x_title, scale=alt.Scale(domain=domain, clamp=True)), y=y,
            text="bar_text:N", tooltip=tip,
            color=alt.condition(alt.datum.is_cut, alt.value("#b5179e"), alt.value("#333333")))
        rule = alt.Chart(pd.DataFrame({"x": [100.0]})).mark_rule(
            color="#d62728", strokeDash=[4, 3]).encode(
            x=alt.X("x:Q", title=x_title, scale=alt.Scale(domain=domain)))
        panels.append(alt.layer(bars, text, rule).properties(
            title=alt.TitleParams(t(f"theme.{theme}", lang), anchor="start", fontSize=13),
            width=520, height=alt.Step(13 * lines + 8)))
    return alt.vconcat(*panels, spacing=14).resolve_scale(x="shared", color="shared")


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
        chart(_chart, pf, lang, width="content")  # panels of a fixed width, aligned
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
    show_html_table(d[[nc, "adcode", "buildings"]].rename(columns={nc: "district"}), lang)
    n, n_syn = int(d["buildings"].sum()), int(counts["synthetic"].sum())
    show_scope(ctx, {"synthetic_share": n_syn / n if n else float("nan"), "n_buildings": n,
                     "city_buildings_estimate": cfg.full_scale_buildings,
                     "is_citywide": n >= CITYWIDE_SHARE * cfg.full_scale_buildings and n_syn == 0})

    lay = data.layers_table(*ctx.key)
    lay = lay.assign(synthetic_share=(lay["n_synthetic"] / lay["n_rows"].clip(lower=1)).round(3))
    show_html_table(lay[["name", "kind", "n_rows", "synthetic_share", "source"]]
                    .rename(columns={"name": "layer"}), lang, summary=t("ov.layers", lang))
    attr = "; ".join(str(v) for v in data.meta(*ctx.key).get("attribution", {}).values())
    st.caption(t("app.synthetic_note", lang, attr=attr))
