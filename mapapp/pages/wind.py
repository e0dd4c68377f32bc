"""Wind: eligible areas, exclusions by reason, turbine sites, district totals against targets."""

from __future__ import annotations

import altair as alt
import streamlit as st

from mapapp import data
from mapapp import mapstyle as ms
from mapapp.i18n import column, t
from mapapp.pages._common import Ctx, base_layers, name_col, need, show_table

__all__ = ["render"]


def render(ctx: Ctx) -> None:
    """The wind page."""
    lang = ctx.lang
    if not need(ctx, "wind", ("wind_sites", "wind_exclusions", "wind_districts")):
        return
    meta = data.meta(*ctx.key).get("wind_screen", {})
    if "screening" in str(meta.get("resource", "")):
        st.warning(t("wind.screening", lang))
    show_excl = st.toggle(t("wind.show_exclusions", lang), value=True, key="wind_show_excl")
    sites, n_sites = data.geo_frame(*ctx.key, "wind_sites",
                                    ("site_id", "district_adcode", "capacity_mw",
                                     "capacity_factor", "energy_mwh_per_yr"))
    layers = base_layers(ctx)
    if show_excl:
        excl, _ = data.geo_frame(*ctx.key, "wind_exclusions", ("wind_exclusion_reason", "area_km2"),
                                 simplify_m=20.0)
        if len(excl):
            excl = excl.assign(fill=ms.categorical(excl["wind_exclusion_reason"], alpha=90).tolist())
            layers.append(ms.polygon_layer(excl, layer_id="exclusions", pickable=False))
    if "wind_candidate_areas" in data.tables(*ctx.key):
        areas, _ = data.geo_frame(*ctx.key, "wind_candidate_areas", ("candidate_area",),
                                  simplify_m=20.0)
        if len(areas):
            areas = areas.assign(fill=[[60, 180, 75, 60]] * len(areas))
            layers.append(ms.polygon_layer(areas, layer_id="eligible", line=[30, 120, 40, 220],
                                           pickable=False))
    if len(sites):
        sites = sites.assign(fill=ms.ramp(sites["capacity_factor"].to_numpy(float),
                                          palette="viridis").tolist()).round(3)
        layers.append(ms.point_layer(sites, layer_id="turbines", radius_m=60.0))
    st.subheader(t("wind.map", lang))
    tip = (f"{{site_id}}\n{column('capacity_mw', lang)}: {{capacity_mw}}\n"
           f"{column('capacity_factor', lang)}: {{capacity_factor}}")
    st.pydeck_chart(ms.deck(layers, ms.view_state(data.districts(*ctx.key)[2]),
                            tooltip={"text": tip}, basemap=ctx.basemap), height=480, key="wind_map")
    stops = ms.legend_stops(sites["capacity_factor"] if len(sites) else [0, 1])
    st.markdown(ms.legend_html(column("capacity_factor", lang),
                               [(f"{v:.2f}", c) for v, c in stops]), unsafe_allow_html=True)

    st.subheader(t("wind.exclusions", lang))
    ex = data.table(*ctx.key, "wind_exclusions")
    by = ex.groupby("wind_exclusion_reason", as_index=False)["area_km2"].sum().round(2)
    st.altair_chart(alt.Chart(by).mark_bar().encode(
        x=alt.X("area_km2:Q", title=column("area_km2", lang)),
        y=alt.Y("wind_exclusion_reason:N", sort="-x", title=t("wind.reason", lang)),
        tooltip=["wind_exclusion_reason", "area_km2"]), width="stretch")
    st.subheader(t("wind.districts", lang))
    dist = data.table(*ctx.key, "wind_districts")
    nc = name_col(lang)
    drop = [c for c in ("name_zh", "name_en") if c != nc and c in dist]
    show_table(dist.drop(columns=drop).rename(columns={nc: "district"}).round(2), lang,
               key="wind_districts")
    st.subheader(t("wind.targets", lang))
    if "wind_targets" in data.tables(*ctx.key):
        tg = data.table(*ctx.key, "wind_targets")
        if len(tg):
            show_table(tg.round(2), lang, key="wind_targets")
        else:
            st.info(t("ov.no_targets", lang, year=ctx.year))
