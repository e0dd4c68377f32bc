"""Charging and services: stations, isochrones, coverage, the gap, suggested new stations."""

from __future__ import annotations

import streamlit as st

from mapapp import data
from mapapp import mapstyle as ms
from mapapp.i18n import category, column, t
from mapapp.pages._common import Ctx, base_layers, need, show_scope, show_table

__all__ = ["render"]


def render(ctx: Ctx) -> None:
    """The charging and services page."""
    lang = ctx.lang
    if not need(ctx, "coverage", ("coverage_isochrones", "coverage_sites", "coverage_summary",
                                  "coverage_admin")):
        return
    iso_all = data.table(*ctx.key, "coverage_isochrones")
    thresholds = sorted(iso_all["threshold_min"].dropna().unique().tolist())
    thr = st.select_slider(t("ch.threshold", lang), thresholds, key="ch_threshold") \
        if len(thresholds) > 1 else (thresholds or [None])[0]
    layers = base_layers(ctx)
    if thr is not None:
        iso, _ = data.geo_frame(*ctx.key, "coverage_isochrones", ("threshold_min", "area_km2"),
                                {"threshold_min": float(thr)}, simplify_m=25.0)
        if len(iso):
            layers.insert(0, ms.polygon_layer(iso.assign(fill=[[90, 160, 230, 70]] * len(iso)),
                                              layer_id="isochrones", pickable=False))
    if "charging_stations" in data.tables(*ctx.key):
        st_df, _ = data.geo_frame(*ctx.key, "charging_stations",
                                  ("station_id", "name", "n_piles", "is_public"))
        if len(st_df):
            layers.append(ms.point_layer(st_df.assign(fill=[[30, 30, 160, 220]] * len(st_df)),
                                         layer_id="stations", radius_m=80.0))
    sites, _ = data.geo_frame(*ctx.key, "coverage_sites",
                              ("site_rank", "candidate_id", "gain_residents_count",
                               "coverage_after_pct"))
    if len(sites):
        layers.append(ms.point_layer(sites.assign(fill=[[230, 40, 40, 240]] * len(sites)).round(1),
                                     layer_id="sites", radius_m=250.0))
    st.subheader(t("ch.map", lang))
    st.pydeck_chart(ms.deck(layers, ms.view_state(data.districts(*ctx.key)[2]),
                            tooltip={"text": "{station_id}{site_rank} {name}"},
                            basemap=ctx.basemap), height=480, key="ch_map")
    st.markdown(ms.legend_html(t("app.legend", lang), [
        (t("lg.isochrone", lang), "#5aa0e6"), (t("lg.station", lang), "#1e1ea0"),
        (t("lg.site", lang), "#e62828")]), unsafe_allow_html=True)

    st.subheader(t("ch.coverage", lang))
    summ = data.table(*ctx.key, "coverage_summary")
    at_city = summ.loc[summ["level"] == "city"]
    city = at_city[["metric", "area", "threshold", "threshold_unit", "value", "unit", "target_id",
                    "comparator", "target_value", "gap", "meets_target",
                    *[c for c in ("synthetic_share",) if c in summ.columns]]].copy()
    city["area"] = city["area"].map(lambda v: category(v, lang))
    show_table(city.round(2), lang, key="ch_summary")
    show_scope(ctx, at_city, engine="coverage")

    st.subheader(t("ch.admin", lang))
    level = st.segmented_control(t("ch.level", lang), ["district", "township"],
                                 default="district", key="ch_level",
                                 format_func=lambda v: category(v, lang)) or "district"
    adm = data.table(*ctx.key, "coverage_admin")
    show_table(adm.loc[adm["level"] == level], lang, key="ch_admin")
    show_scope(ctx, adm.loc[adm["level"] == level], engine="coverage")
    st.subheader(t("ch.sites", lang))
    sites_table = data.table(*ctx.key, "coverage_sites")
    show_table(sites_table.round(2), lang, key="ch_sites")
    show_scope(ctx, sites_table, engine="coverage")
    st.caption(column("coverage_after_pct", lang))
