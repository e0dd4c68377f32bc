"""Wind: eligible project areas, exclusions by reason, turbine sites, district totals against targets.

The map draws, from the bottom: the contiguous eligible areas that hold a project
(``wind_areas``), the exclusions by reason, the draft-only candidate zones (labelled
"draft plan only"), then the turbine sites: viable ones coloured by capacity factor,
the rest grey ("not viable (< 1300 full-load hours)").
"""

from __future__ import annotations

import altair as alt
import numpy as np
import streamlit as st

from mapapp import data
from mapapp import mapstyle as ms
from mapapp.i18n import category, column, t
from mapapp.pages._common import Ctx, base_layers, name_col, need, show_scope, show_table, show_terrain

__all__ = ["render"]

#: Fill of the eligible project areas, of the draft-only zones and of sites that are not viable.
ELIGIBLE_FILL = [120, 200, 120, 70]
DRAFT_FILL, DRAFT_LINE = [255, 160, 0, 40], [230, 120, 0, 230]
NOT_VIABLE_FILL = [140, 140, 140, 150]
#: Fixed colours of the exclusion reasons (none green, the eligible areas' colour, or orange,
#: the draft zones').
REASON_COLOURS: dict[str, tuple[int, int, int]] = {
    "airport": (120, 60, 160), "protected_area": (0, 120, 110), "water_body": (70, 130, 200),
    "residential_building": (200, 40, 60), "other_building": (140, 80, 40),
    "built_up_land": (230, 130, 150), "road": (170, 150, 0), "slope": (190, 170, 120),
}


def _hex(rgba) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgba[:3])


def render(ctx: Ctx) -> None:
    """The wind page."""
    lang = ctx.lang
    if not need(ctx, "wind", ("wind_sites", "wind_exclusions", "wind_districts")):
        return
    meta = data.meta(*ctx.key).get("wind_screen", {})
    if "screening" in str(meta.get("resource", "")):
        st.warning(t("wind.screening", lang))
    hours = float(meta.get("params", {}).get("min_full_load_hours", 1300.0))
    n_project = int(meta.get("min_project_turbines", 3))
    have = set(data.tables(*ctx.key))
    show_excl = st.toggle(t("wind.show_exclusions", lang), value=True, key="wind_show_excl")
    sites, n_sites = data.geo_frame(*ctx.key, "wind_sites",
                                    ("site_id", "capacity_mw", "capacity_factor", "full_load_hours",
                                     "is_viable"))
    layers = base_layers(ctx)
    legend: list[tuple[str, str]] = []
    if "wind_areas" in have:
        areas, _ = data.geo_frame(*ctx.key, "wind_areas", ("wind_area_id", "n_turbines"),
                                  simplify_m=50.0)
        if len(areas):
            areas = areas.assign(fill=[ELIGIBLE_FILL] * len(areas))
            layers.append(ms.polygon_layer(areas, layer_id="eligible", pickable=False))
            legend.append((t("wind.eligible", lang, n=n_project), _hex(ELIGIBLE_FILL)))
    if show_excl:
        excl, _ = data.geo_frame(*ctx.key, "wind_exclusions", ("wind_exclusion_reason", "area_km2"),
                                 simplify_m=50.0)
        if len(excl):
            fill = ms.categorical(excl["wind_exclusion_reason"], REASON_COLOURS, alpha=90)
            excl = excl.assign(fill=fill.tolist())
            layers.append(ms.polygon_layer(excl, layer_id="exclusions", pickable=False))
            first = excl.assign(c=[_hex(c) for c in fill]).drop_duplicates("wind_exclusion_reason")
            legend += [(category(r, lang), c) for r, c in zip(first["wind_exclusion_reason"], first["c"],
                                                             strict=True)]
    if "wind_candidate_areas" in have:
        zones, _ = data.geo_frame(*ctx.key, "wind_candidate_areas", ("candidate_area",),
                                  simplify_m=20.0)
        if len(zones):
            zones = zones.assign(fill=[DRAFT_FILL] * len(zones))
            layers.append(ms.polygon_layer(zones, layer_id="draft_zones", line=DRAFT_LINE,
                                           pickable=False))
            legend.append((t("wind.draft_zone", lang), _hex(DRAFT_LINE)))
    viable = (sites["is_viable"].astype(bool).to_numpy() if "is_viable" in sites
              else np.zeros(len(sites), bool))
    if len(sites):
        fill = ms.ramp(sites["capacity_factor"].to_numpy(float), palette="viridis")
        fill[~viable] = NOT_VIABLE_FILL
        # what the browser gets: ~1 m positions, the tooltip's figures, the colour
        sites = sites.drop(columns=["is_viable"], errors="ignore").assign(fill=fill.tolist()).round(
            {"lon": 5, "lat": 5, "capacity_mw": 2, "capacity_factor": 3, "full_load_hours": 0})
        layers.append(ms.point_layer(sites, layer_id="turbines", radius_m=60.0))
    st.subheader(t("wind.map", lang))
    st.caption(t("wind.sites_shown", lang, shown=len(sites), n=n_sites, viable=int(viable.sum())))
    tip = (f"{{site_id}}\n{column('capacity_mw', lang)}: {{capacity_mw}}\n"
           f"{column('capacity_factor', lang)}: {{capacity_factor}}\n"
           f"{column('full_load_hours', lang)}: {{full_load_hours}}")
    st.pydeck_chart(ms.deck(layers, ms.view_state(data.districts(*ctx.key)[2]),
                            tooltip={"text": tip}, basemap=ctx.basemap), height=480, key="wind_map")
    if viable.any():
        st.markdown(ms.legend_html(t("wind.viable", lang),
                                   ms.legend_items(sites.loc[viable, "capacity_factor"],
                                                   decimals=2)),
                    unsafe_allow_html=True)
    legend.append((t("wind.not_viable", lang, hours=f"{hours:g}"), _hex(NOT_VIABLE_FILL)))
    st.markdown(ms.legend_html(t("wind.map", lang), legend), unsafe_allow_html=True)

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
    show_scope(ctx, engine="wind")
    show_terrain(ctx, "wind")
    st.subheader(t("wind.targets", lang))
    if "wind_targets" in have:
        tg = data.table(*ctx.key, "wind_targets")
        if len(tg):
            show_table(tg.round(2), lang, key="wind_targets")
            show_scope(ctx, tg, engine="wind")
        else:
            st.info(t("ov.no_targets", lang, year=ctx.year))
