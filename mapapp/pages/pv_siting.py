"""PV siting: rooftop, water-surface and ground sites on a 3D map with a ranked table.

At city zoom the map is a district choropleth of the scenario's capacity; a chosen
district shows its buildings extruded by height and coloured by specific yield or
capacity (at most :data:`mapapp.mapstyle.MAX_FEATURES`). Filters act on the cached
district frame (vectorised masks), the table and map show the same rows, and a
row picked in the table or a building clicked on the map is the inspector's building.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mapapp import data
from mapapp import mapstyle as ms
from mapapp.i18n import category, column, t
from mapapp.pages._common import (
    Ctx,
    base_layers,
    city_map,
    name_col,
    need,
    show_scope,
    show_table,
    show_terrain,
)

__all__ = ["filter_buildings", "render", "select_building"]

_SHOW = ["building_id", "use_class", "roof_type", "height_m", "pv_capacity_kwp",
         "adopted_capacity_kwp", "specific_yield_kwh_per_kwp", "shading_loss_pct",
         "pv_yield_kwh_per_yr", "is_synthetic"]
_RANKS = ("pv_capacity_kwp", "specific_yield_kwh_per_kwp", "pv_yield_kwh_per_yr")
_TABLE_ROWS = 1000
#: Columns of the 3D map's building rows (short keys: see _district_level).
_SHORT = {"polygon": "p", "fill": "c", "height": "h"}
#: Starting values of the building-filter sliders (minimum kWp, minimum specific yield,
#: maximum shading loss [%]): the widgets' defaults and what "not filtering" means.
_SLIDER_DEFAULTS = {"pv_min_kwp": 0.0, "pv_min_sy": 0.0, "pv_max_shade": 100}


def select_building(building_id: str) -> None:
    """Make ``building_id`` the building of the inspector (and the map highlight)."""
    st.session_state["building_id"] = building_id
    st.session_state["in_building"] = building_id


def _on_table() -> None:
    rows = st.session_state.get("pv_table", {}).get("selection", {}).get("rows", [])
    ids = st.session_state.get("_pv_ids", [])
    if rows and rows[0] < len(ids):
        select_building(ids[rows[0]])


def _on_map() -> None:
    objs = st.session_state.get("pv_map", {}).get("selection", {}).get("objects", {})
    hit = objs.get("buildings") or []
    if hit and hit[0].get("id"):
        select_building(str(hit[0]["id"]))


def _pick_district(codes) -> None:
    """A district clicked on the city map becomes the district filter."""
    pick = (st.session_state.get("pv_city_map") or {}).get("pick")
    if pick in codes:
        st.session_state["pv_district"] = pick


def _open_inspector() -> None:
    st.session_state["page"] = "inspector"


def filter_buildings(df: pd.DataFrame, uses, roofs, min_kwp: float, min_sy: float,
                     max_shading_pct: float, rank: str) -> pd.DataFrame:
    """Rows of ``df`` passing every filter, ranked by ``rank`` (descending), vectorised."""
    mask = (df["use_class"].isin(list(uses)) & df["roof_type"].isin(list(roofs))
            & (df["pv_capacity_kwp"] >= min_kwp)
            & (df["specific_yield_kwh_per_kwp"] >= min_sy)
            & (df["shading_loss_fraction"] <= max_shading_pct / 100.0 + 1e-12))
    out = df.loc[mask]
    return out.sort_values([rank, "building_id"], ascending=[False, True], kind="stable")


def _filters(ctx: Ctx, opts: dict):
    lang = ctx.lang
    _, dframe, _ = data.districts(*ctx.key)
    codes = ["", *dframe["adcode"]]
    names = dict(zip(dframe["adcode"], dframe[name_col(lang)], strict=True))
    c1, c2, c3, c4 = st.columns(4)
    district = c1.selectbox(t("pv.district", lang), codes, key="pv_district",
                            format_func=lambda c: names.get(c, t("app.all_districts", lang)))
    scenario = c2.selectbox(t("pv.scenario", lang), opts["scenarios"], key="pv_scenario",
                            format_func=lambda s: category(s, lang))
    colour = c3.selectbox(t("pv.colour_by", lang), ["specific_yield_kwh_per_kwp",
                                                    "pv_capacity_kwp"], key="pv_colour",
                          format_func=lambda c: category(c, lang))
    rank = c4.selectbox(t("pv.sort_by", lang), _RANKS, key="pv_rank",
                        format_func=lambda c: category(c, lang))
    # The building filters sit in a popover: its widgets reach the browser only when it is
    # opened, which keeps the page's first render light. Their values live in the session.
    with st.popover(t("pv.more_filters", lang, n=_active_filters(opts))):
        uses = st.multiselect(t("pv.use", lang), opts["uses"], default=opts["uses"], key="pv_use",
                              format_func=lambda v: category(v, lang))
        roofs = st.multiselect(t("pv.roof", lang), opts["roofs"], default=opts["roofs"],
                               key="pv_roof", format_func=lambda v: category(v, lang))
        top_kwp = float(max(10.0, np.ceil(opts["max_kwp"])))
        min_kwp = st.slider(t("pv.min_kwp", lang), 0.0, top_kwp, _SLIDER_DEFAULTS["pv_min_kwp"],
                            key="pv_min_kwp")
        top_sy = float(max(100.0, np.ceil(opts["max_sy"] / 50) * 50))
        min_sy = st.slider(t("pv.min_yield", lang), 0.0, top_sy, _SLIDER_DEFAULTS["pv_min_sy"],
                           step=10.0, key="pv_min_sy")
        max_shade = st.slider(t("pv.max_shading", lang), 0, 100, _SLIDER_DEFAULTS["pv_max_shade"],
                              key="pv_max_shade")
    return district, scenario, colour, rank, tuple(uses), tuple(roofs), min_kwp, min_sy, max_shade


def _active_filters(opts: dict) -> int:
    """How many building filters narrow the selection (read from the session, before the widgets)."""
    ss = st.session_state
    return (sum(set(ss.get(k, opts[o])) != set(opts[o]) for k, o in (("pv_use", "uses"),
                                                                       ("pv_roof", "roofs")))
            + sum(ss.get(k, v) != v for k, v in _SLIDER_DEFAULTS.items()))


def _legend(lang: str, title_key: str, values, palette: str) -> None:
    st.markdown(ms.legend_html(category(title_key, lang), ms.legend_items(values, palette=palette)),
                unsafe_allow_html=True)


def _table_and_export(ctx: Ctx, rows: pd.DataFrame, n: int, ids_for_export) -> None:
    lang = ctx.lang
    st.subheader(t("pv.ranked", lang, n=n))
    view = rows.head(_TABLE_ROWS).copy()
    view["shading_loss_pct"] = (100 * view["shading_loss_fraction"]).round(1)
    view["use_class"] = view["use_class"].map(lambda v: category(v, lang))
    view["roof_type"] = view["roof_type"].map(lambda v: category(v, lang))
    view = view[[c for c in _SHOW if c in view.columns]].round(1)
    st.session_state["_pv_ids"] = list(view["building_id"])
    show_table(view, lang, key="pv_table", on_select=_on_table, selection_mode="single-row",
               height=320)
    if "is_synthetic" in view and view["is_synthetic"].any():
        st.caption(t("pv.synthetic_rows", lang, n=int(view["is_synthetic"].sum()), shown=len(view)))
    if n == 0:
        st.info(t("app.no_selection", lang))
        return
    key = ctx.key
    with st.popover(t("app.export_menu", lang, n=n)):
        st.caption(t("app.export", lang, n=n))
        for fmt, label, mime in (("csv", "app.download_csv", "text/csv"),
                                 ("gpkg", "app.download_gpkg", "application/geopackage+sqlite3"),
                                 ("geojson", "app.download_geojson", "application/geo+json")):
            st.download_button(t(label, lang), key=f"pv_dl_{fmt}", mime=mime, on_click="ignore",
                               file_name=f"pv_shortlist_{ctx.city}.{fmt}",
                               data=lambda fmt=fmt: data.export_bytes(*key, ids_for_export(), fmt))


def _city_scope(ctx: Ctx, scenario: str) -> None:
    """The scope caption of the city's rooftop totals (``pv_city``: synthetic share, buildings)."""
    if "pv_city" in data.tables(*ctx.key):
        city = data.table(*ctx.key, "pv_city")
        show_scope(ctx, city.loc[city["scenario"] == scenario] if "scenario" in city else city,
                   engine="pv")
    show_terrain(ctx, "pv")


def _weighted_share(rows: pd.DataFrame, weight: str) -> float:
    """Share of ``weight`` (e.g. capacity) on rows flagged ``is_synthetic`` (NaN: unknown)."""
    if "is_synthetic" not in rows or weight not in rows or not len(rows):
        return float("nan")
    w = rows[weight].fillna(0.0).to_numpy(float)
    syn = rows["is_synthetic"].fillna(True).astype(bool).to_numpy()
    return float(w[syn].sum() / w.sum()) if w.sum() > 0 else float(syn.mean())


def _city_level(ctx: Ctx, opts, scenario, colour, rank, uses, roofs, min_kwp, min_sy, max_shade):
    lang = ctx.lang
    nc = name_col(lang)
    shapes, dframe, _ = data.districts(*ctx.key)
    totals = data.table(*ctx.key, "pv_districts")
    tot = totals.loc[totals["scenario"] == scenario, ["district_adcode", "n_viable_roofs",
                                                      "pv_capacity_mw", "pv_yield_mwh_per_yr",
                                                      "specific_yield_kwh_per_kwp"]]
    d = dframe[["adcode", "name_zh", "name_en"]].merge(
        tot.rename(columns={"district_adcode": "adcode"}), on="adcode", how="left")
    metric = "pv_capacity_mw" if colour == "pv_capacity_kwp" else "specific_yield_kwh_per_kwp"
    areas = shapes.merge(d, on=["adcode", "name_zh", "name_en"], how="left")
    areas["fill"] = ms.ramp(areas[metric].to_numpy(float), *ms.value_range(d[metric]),
                            palette="viridis", alpha=190).tolist()
    areas["key"] = areas["adcode"]
    cap, sy = column("pv_capacity_mw", lang), column("specific_yield_kwh_per_kwp", lang)
    areas["tip"] = [f"{n}\n{cap}: {c:,.1f}\n{sy}: {y:,.0f}" for n, c, y in
                    zip(areas[nc], areas["pv_capacity_mw"].fillna(0.0),
                        areas["specific_yield_kwh_per_kwp"].fillna(0.0), strict=True)]
    codes = set(dframe["adcode"])
    city_map(ctx, areas, key="pv_city_map", on_pick=lambda: _pick_district(codes),
             legend=(category(colour, lang), ms.legend_items(d[metric].to_numpy(float))),
             hint=t("pv.select_district", lang))
    _city_scope(ctx, scenario)
    # The table's content is sent only while its expander is open (the map's tooltips
    # carry the same totals), so the first render stays light.
    totals_box = st.expander(t("pv.district_totals", lang, scenario=category(scenario, lang)),
                             key="pv_district_totals", on_change="rerun")
    if totals_box.open:
        with totals_box:
            show_table(d.drop(columns=["name_zh" if nc == "name_en" else "name_en"])
                       .rename(columns={nc: "district"}).round(2), lang, key="pv_district_table")
    top, n = data.pv_city_top(*ctx.key, None, uses, roofs, float(min_kwp), float(min_sy),
                              max_shade / 100.0, rank, _TABLE_ROWS)
    key = ctx.key

    def ids():
        return list(data.pv_city_top(*key, None, uses, roofs, float(min_kwp), float(min_sy),
                                     max_shade / 100.0, rank, max(n, 1))[0]["building_id"])

    _table_and_export(ctx, top, n, ids)


def _district_level(ctx: Ctx, district, colour, rank, uses, roofs, min_kwp, min_sy, max_shade):
    lang = ctx.lang
    b, n_all = data.pv_buildings(*ctx.key, district)
    if n_all > ms.MAX_FEATURES:
        st.warning(t("app.capped", lang, n=n_all, cap=ms.MAX_FEATURES))
        show_table(data.table(*ctx.key, "pv_townships").query("district_adcode == @district"),
                   lang, key="pv_townships")
        _city_scope(ctx, str(st.session_state.get("pv_scenario", "technical")))
        return
    rows = filter_buildings(b, uses, roofs, float(min_kwp), float(min_sy), float(max_shade), rank)
    _, dframe, _ = data.districts(*ctx.key)
    box = dframe.loc[dframe["adcode"] == district, ["minx", "miny", "maxx", "maxy"]]
    bounds = tuple(box.iloc[0]) if len(box) else data.districts(*ctx.key)[2]
    palette = "viridis" if colour == "specific_yield_kwh_per_kwp" else "magma"
    all_vals = b[colour].to_numpy(float)
    lo, hi = ms.value_range(all_vals)
    # Only what the map draws and its tooltip shows, under one-letter keys: every filter
    # change resends these rows as JSON records, the keys repeated in every row.
    shown = pd.DataFrame({
        "id": rows["building_id"], "p": ms.open_rings(rows["polygon"]),
        "h": rows["height_m"].round(1),
        "kwp": rows["pv_capacity_kwp"].round(1),
        "sy": rows["specific_yield_kwh_per_kwp"].round(0),
        "c": ms.ramp(rows[colour].to_numpy(float), lo, hi, palette=palette).tolist()})
    layers = [*base_layers(ctx, bounds=bounds), ms.building_layer(shown, **_SHORT)]
    chosen = st.session_state.get("building_id")
    if chosen:
        hit = shown.loc[shown["id"] == chosen, ["p", "h"]]
        if len(hit):
            hit = hit.assign(c=[[255, 40, 40, 255]] * len(hit), h=hit["h"] + 3)
            layers.append(ms.building_layer(hit, layer_id="chosen", **_SHORT))
    tip = (f"{{id}}\n{column('pv_capacity_kwp', lang)}: {{kwp}}\n"
           f"{column('specific_yield_kwh_per_kwp', lang)}: {{sy}}")
    map_box = st.container()
    ids = list(rows["building_id"])
    _table_and_export(ctx, rows, len(rows), lambda: ids)
    with map_box:
        st.pydeck_chart(ms.deck(layers, ms.view_state(bounds, pitch=45), tooltip={"text": tip},
                                basemap=ctx.basemap),
                        height=520, key="pv_map", on_select=_on_map,
                        selection_mode="single-object")
        _legend(lang, colour, all_vals, palette)
        show_scope(ctx, {"synthetic_share": _weighted_share(b, "pv_capacity_kwp"),
                         "n_buildings": len(b)}, engine="pv")
        st.caption(t("app.map_hint", lang))
    if chosen:
        st.button(f"{t('page.inspector', lang)}: {chosen}", key="pv_open_inspector",
                  on_click=_open_inspector)


def _other_sites(ctx: Ctx, name: str) -> None:
    """Water-surface or ground PV sites as computed by their screen (columns may vary)."""
    lang = ctx.lang
    cols = data.columns_of(*ctx.key, name)
    frame, n = data.geo_frame(*ctx.key, name, cols, simplify_m=5.0)
    if frame.empty:
        st.info(t("app.no_selection", lang))
        return
    cap = next((c for c in cols if "capacity" in c), None)
    frame = frame.copy()
    frame["fill"] = (ms.ramp(frame[cap].to_numpy(float), palette="magma").tolist() if cap
                     else [[230, 120, 40, 200]] * len(frame))
    layer = (ms.point_layer(frame, layer_id="sites", radius_m=80.0) if "lon" in frame
             else ms.polygon_layer(frame, layer_id="sites", line=[40, 40, 40, 200]))
    bounds = data.districts(*ctx.key)[2]
    st.pydeck_chart(ms.deck([*base_layers(ctx), layer], ms.view_state(bounds),
                            tooltip={"text": "\n".join(f"{c}: {{{c}}}" for c in cols[:4])},
                            basemap=ctx.basemap), height=480, key=f"pv_{name}_map")
    table = data.table(*ctx.key, name)
    if cap:
        table = table.sort_values(cap, ascending=False)
    st.subheader(t("pv.ranked", lang, n=n))
    show_table(table, lang, key=f"pv_{name}_table")
    _sites_scope(ctx, name, table, cap)
    st.download_button(t("app.download_csv", lang), data=table.to_csv(index=False).encode(),
                       file_name=f"{name}_{ctx.city}.csv", mime="text/csv", key=f"pv_{name}_csv")


def _sites_scope(ctx: Ctx, name: str, table: pd.DataFrame, cap: str | None) -> None:
    """The synthetic share of water or ground sites: ``pv_sites_city``'s, else of the listed sites."""
    kind = name.split("_")[0]
    if kind == "ground":
        show_terrain(ctx, "ground")
    if "pv_sites_city" in data.tables(*ctx.key):
        city = data.table(*ctx.key, "pv_sites_city")
        if {"kind", "site_category", "synthetic_share"} <= set(city.columns):
            row = city.loc[(city["kind"] == kind) & (city["site_category"] == "all")]
            if len(row) and show_scope(ctx, row[["synthetic_share"]]):
                return
    show_scope(ctx, {"synthetic_share": _weighted_share(table, cap) if cap else float("nan")})


def render(ctx: Ctx) -> None:
    """The PV siting page."""
    lang = ctx.lang
    kinds = {"rooftop": "pv.rooftop", "water": "pv.water", "ground": "pv.ground"}
    kind = st.segmented_control(t("pv.kind", lang), list(kinds), default="rooftop",
                                key="pv_kind", format_func=lambda k: t(kinds[k], lang))
    if kind == "water":
        if need(ctx, "pv_sites", ("water_pv_sites",)):
            _other_sites(ctx, "water_pv_sites")
        return
    if kind == "ground":
        if need(ctx, "pv_sites", ("ground_pv_sites",)):
            _other_sites(ctx, "ground_pv_sites")
        return
    if not need(ctx, "pv", ("pv_buildings", "pv_districts")):
        return
    opts = data.pv_options(*ctx.key)
    district, scenario, colour, rank, uses, roofs, min_kwp, min_sy, max_shade = _filters(ctx, opts)
    if district:
        _district_level(ctx, district, colour, rank, uses, roofs, min_kwp, min_sy, max_shade)
    else:
        _city_level(ctx, opts, scenario, colour, rank, uses, roofs, min_kwp, min_sy, max_shade)
