"""Carbon sinks: land cover, carbon stock and sequestration by district, targets, scenarios."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mapapp import data
from mapapp import mapstyle as ms
from mapapp.i18n import category, column, t
from mapapp.pages._common import Ctx, base_layers, need, show_scope, show_table

__all__ = ["render"]

#: Indicators shown per district (columns of the pivot), in this order.
_DISTRICT_INDICATORS = ("carbon_stock_t_c", "carbon_stock_t_co2", "co2_uptake_t_per_yr",
                        "forest_coverage_pct", "forest_area_mu", "forest_stock_m3",
                        "wetland_rate_pct", "tea_garden_area_mu", "tea_garden_total_area_mu")


def _baselines(ctx: Ctx, sel: pd.DataFrame, rests_on: str) -> None:
    """The city's reported baselines beside the twin's values, with the ratio and a warning."""
    if "baseline_ratio" not in sel.columns:
        return
    b = sel.loc[(sel["level"] == "city") & sel["baseline_ratio"].notna()]
    b = b.drop_duplicates("indicator")
    if not len(b):
        return
    lang = ctx.lang
    st.subheader(t("sink.baselines", lang))
    off = b.loc[b["is_off_baseline"].fillna(False).astype(bool)]
    for r in off.itertuples():
        st.warning(t("sink.off_baseline", lang, indicator=r.indicator,
                     pct=f"{(r.baseline_ratio - 1) * 100:+.0f}", tol=f"{r.baseline_tolerance_pct:g}"))
    cols = ["indicator", "unit", "value", "baseline_value", "baseline_year", "baseline_ratio",
            "baseline_tolerance_pct", "is_off_baseline", "unverified_factors"]
    show_table(b[[c for c in cols if c in b.columns]].round(3), lang, key="sink_baselines")
    show_scope(ctx, b, engine=rests_on)


def render(ctx: Ctx) -> None:
    """The sinks page."""
    lang = ctx.lang
    if not need(ctx, "sinks", ("sink_patches", "sink_indicators")):
        return
    st.subheader(t("sink.map", lang))
    patches, n = data.geo_frame(*ctx.key, "sink_patches",
                                ("landcover_id", "lc_class", "area_m2", "carbon_stock_t_c",
                                 "co2_uptake_t_per_yr"), simplify_m=10.0)
    layers = base_layers(ctx)
    if len(patches):
        patches = patches.assign(fill=ms.categorical(patches["lc_class"], alpha=170).tolist(),
                                 lc_label=patches["lc_class"].map(lambda v: category(v, lang)))
        patches = patches.round({"carbon_stock_t_c": 0, "co2_uptake_t_per_yr": 0, "area_m2": 0})
        layers.insert(0, ms.polygon_layer(patches, layer_id="landcover"))
    if n > len(patches):
        st.warning(t("app.capped", lang, n=n, cap=ms.MAX_FEATURES))
    tip = (f"{{lc_label}}\n{column('carbon_stock_t_c', lang)}: {{carbon_stock_t_c}}")
    st.pydeck_chart(ms.deck(layers, ms.view_state(data.districts(*ctx.key)[2]),
                            tooltip={"text": tip}, basemap=ctx.basemap), height=480, key="sink_map")
    if len(patches):
        classes = patches["lc_class"].drop_duplicates().tolist()
        cols = ms.categorical(classes, alpha=255)
        st.markdown(ms.legend_html(t("app.legend", lang),
                                   [(category(c, lang), "#{:02x}{:02x}{:02x}".format(*rgb[:3]))
                                    for c, rgb in zip(classes, cols, strict=True)]),
                    unsafe_allow_html=True)

    ind = data.table(*ctx.key, "sink_indicators")
    kinds = sorted(ind["input_kind"].dropna().unique().tolist())
    kind = st.segmented_control(column("kind", lang), kinds, default=kinds[0] if kinds else None,
                                key="sink_input_kind") if len(kinds) > 1 else (kinds or [None])[0]
    sel = ind.loc[ind["input_kind"] == kind] if kind else ind
    rests_on = "sinks_raster" if kind == "raster" else "sinks"  # the layers the figures rest on
    st.subheader(t("sink.indicators", lang))
    dist = sel.loc[sel["level"] == "district"]
    pivot = dist.pivot_table(index=["adcode", "name_zh"], columns="indicator", values="value",
                             aggfunc="first").reset_index()
    keep = ["adcode", "name_zh", *[c for c in _DISTRICT_INDICATORS if c in pivot.columns]]
    show_table(pivot[keep].rename(columns={"name_zh": "district"}).round(1), lang,
               key="sink_districts")
    show_scope(ctx, dist, engine=rests_on)
    _baselines(ctx, sel, rests_on)
    st.subheader(t("sink.targets", lang))
    tg = sel.loc[(sel["target_id"].fillna("") != "")]
    if len(tg):
        cols = ["level", "adcode", "indicator", "unit", "value", "target_id", "comparator",
                "target_value", "target_year", "baseline_value", "baseline_ratio", "gap"]
        show_table(tg[[c for c in cols if c in tg.columns]].round(2), lang, key="sink_targets")
        show_scope(ctx, tg, engine=rests_on)
    else:
        st.info(t("ov.no_targets", lang, year=ctx.year))
    st.subheader(t("sink.scenario", lang))
    if "sink_scenario" in data.tables(*ctx.key):
        scen = data.table(*ctx.key, "sink_scenario")
        show_table(scen.round(2), lang, key="sink_scenario")
        show_scope(ctx, scen, engine="sinks")
    else:
        st.info(t("sink.no_scenario", lang,
                  cmd=data.command_for("sinks", ctx.city) + " --sink-scenario FILE"))
