"""Inspector: the sheet of one rooftop building or one water, ground or wind site.

Like Google's Solar API or PVWatts give: a rooftop building's key figures (capacity,
yield, capacity factor, panels, sunshine hours, CO2 avoided, LCOE, payback), its roof
facets on a small map, monthly AC yield and plane-of-array irradiation, the loss cascade
from nominal energy to AC yield, the shading horizon as a polar plot, and its quality and
synthetic flags. The page opens on the best-ranked building of the chosen district (by
yield or LCOE); another is chosen from the top list, by id, or by clicking the map (or
comes from the PV page: ``st.session_state["building_id"]``). Water, ground and wind
sites have the same sheet with their own figures. A printable HTML report of a selection
(:func:`mapapp.report.html_report`) is a download. Ids are looked up with bound
parameters, never spliced into SQL; every catalog text in the report is escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from mapapp import data
from mapapp import report as rp
from mapapp.i18n import category, column, t
from mapapp.pages._common import Ctx, chart, city_map, name_col, need, show_scope, show_table

__all__ = ["CHOSEN_RGBA", "TOP_N", "TOP_RGBA", "horizon_frame", "monthly_frame", "render", "sheet_kinds"]

#: Buildings (or sites) in the inspector's top list and on its map.
TOP_N = 25

_FACET_COLS = ["facet_id", "roof_type", "surface_tilt", "surface_azimuth", "roof_area_m2",
               "installable_area_m2", "pdc0_kw", "panel_count", "ac_kwh",
               "specific_yield_kwh_per_kwp", "shading_loss_fraction", "is_viable",
               "exclusion_reason"]
#: Kind -> (table, engine that writes it).
_SITE_TABLES = {"water": ("water_pv_sites", "pv_sites"), "ground": ("ground_pv_sites", "pv_sites"),
                "wind": ("wind_sites", "wind")}
_SITE_CAPACITY = {"water": "capacity_mwp", "ground": "capacity_mwp", "wind": "capacity_mw"}


def horizon_frame(facet: pd.Series) -> pd.DataFrame:
    """Horizon elevation per azimuth sector from ``horizon_elev_deg_NNN`` columns of a facet."""
    return rp.horizon_points(facet)


def monthly_frame(row: pd.Series) -> pd.DataFrame:
    """Monthly AC yield [kWh] and plane-of-array irradiation [kWh/m²] of a building row."""
    return rp.monthly_poa_frame(row)


def sheet_kinds(have) -> list[str]:
    """The kinds of sheet a twin with tables ``have`` can show, rooftop first."""
    kinds = ["rooftop"] if {"pv_buildings", "pv_facets"} <= set(have) else []
    return kinds + [k for k, (name, _) in _SITE_TABLES.items() if name in have]


# -- selection callbacks ---------------------------------------------------------------------
def _choose(building_id: str) -> None:
    st.session_state["building_id"] = building_id


def _clear_choice() -> None:
    """A new district or ranking opens on its best building."""
    st.session_state.pop("building_id", None)


def _on_top() -> None:
    _choose(str(st.session_state.get("in_top") or ""))


def _on_typed() -> None:
    _choose(str(st.session_state.get("in_building") or "").strip())


def _on_map() -> None:
    """A building clicked on the top map (the SVG map's ``pick``: its id) opens its sheet."""
    pick = (st.session_state.get("in_map") or {}).get("pick")
    if pick:
        _choose(str(pick))


# -- charts ----------------------------------------------------------------------------------
def _polar(h: pd.DataFrame, lang: str) -> alt.Chart:
    step = 360.0 / max(len(h), 1)
    base = alt.Chart(h.assign(span=step)).encode(
        theta=alt.Theta("span:Q", stack=True, sort=None),
        radius=alt.Radius("elevation_deg:Q", scale=alt.Scale(type="sqrt", zero=True,
                                                             domain=[0, 45])),
        tooltip=[alt.Tooltip("azimuth_deg:Q", title=t("in.azimuth", lang)),
                 alt.Tooltip("elevation_deg:Q", title=t("in.elevation", lang), format=".1f")])
    return base.mark_arc(color="#e76f51", stroke="#ffffff").properties(height=300, width=300)


def _monthly_chart(m: pd.DataFrame, lang: str) -> alt.LayerChart:
    ac_t, poa_t = column("ac_kwh_month", lang), column("poa_kwh_per_m2", lang)
    base = alt.Chart(m).encode(x=alt.X("month:O", title=t("in.month", lang)))
    bars = base.mark_bar(color="#2a9d8f").encode(
        y=alt.Y("ac_kwh:Q", title=ac_t),
        tooltip=[alt.Tooltip("month:O", title=t("in.month", lang)),
                 alt.Tooltip("ac_kwh:Q", title=ac_t, format=",.0f"),
                 alt.Tooltip("poa_kwh_per_m2:Q", title=poa_t, format=",.1f")])
    line = base.mark_line(color="#e76f51", point=True).encode(
        y=alt.Y("poa_kwh_per_m2:Q", title=poa_t, axis=alt.Axis(titleColor="#e76f51")))
    return alt.layer(bars, line).resolve_scale(y="independent")


def _loss_chart(losses: pd.DataFrame, lang: str) -> alt.Chart:
    f = losses.assign(label=[column(s, lang) for s in losses["step"]],
                      loss=losses["kwh"] < 0, order=np.arange(len(losses)))
    return alt.Chart(f).mark_bar().encode(
        y=alt.Y("label:N", sort=alt.SortField("order"), title=t("in.loss_step", lang)),
        x=alt.X("start:Q", title="kWh"), x2="end:Q",
        color=alt.Color("loss:N", scale=alt.Scale(domain=[False, True],
                                                  range=["#2a9d8f", "#e76f51"]), legend=None),
        tooltip=[alt.Tooltip("label:N", title=t("in.loss_step", lang)),
                 alt.Tooltip("kwh:Q", title="kWh", format=",.0f")])


def _bounds(frame: pd.DataFrame, pad: float = 0.0005) -> tuple[float, float, float, float]:
    """Lon/lat bounds of a frame's ``polygon`` (rings or ring lists) or ``lon``/``lat`` columns."""
    if "lon" in frame:
        xs, ys = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    else:
        pts = []
        for poly in frame["polygon"]:
            rings = poly if poly and isinstance(poly[0][0], list | tuple) else [poly]
            for ring in rings:
                pts.extend(ring)
        xy = np.asarray(pts, float).reshape(-1, 2)
        xs, ys = xy[:, 0], xy[:, 1]
    return (float(xs.min()) - pad, float(ys.min()) - pad, float(xs.max()) + pad,
            float(ys.max()) + pad)


#: Colours of the top map: the sheet's building, the district's other best buildings.
CHOSEN_RGBA, TOP_RGBA = (255, 40, 40, 255), (42, 157, 143, 220)


def _hex(rgba) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgba[:3]))


#: The inspector's building-zoom maps (:func:`mapapp.pages._common.city_map` options): the
#: context cut to the bounds (the markup stays small), the areas drawn over the water. No
#: deck.gl: a WebGL map cost the sheet seconds of its first render in a browser without a GPU.
_SMALL_MAP = {"width": 640, "height": 400, "clip": True, "on_top": True}


# -- shared parts of a sheet -----------------------------------------------------------------
def _figures(row: pd.Series, kind: str, lang: str) -> None:
    st.subheader(t("in.figures", lang))
    figs = rp.sheet_figures(row, kind)
    for start in range(0, len(figs), 4):
        cols = st.columns(4)
        for col, (name, value) in zip(cols, figs[start:start + 4], strict=False):
            col.metric(column(name, lang), value)


def _flags(ctx: Ctx, row: pd.Series) -> None:
    """Quality flags as warnings, and the row's synthetic flag as the scope caption."""
    lang = ctx.lang
    for f in rp.FLAGS:
        if f != "is_synthetic" and f in row.index and pd.notna(row[f]) and bool(row[f]):
            st.warning(t(f"in.flag_{f}", lang))
    if "is_synthetic" in row.index and pd.notna(row["is_synthetic"]):
        syn = bool(row["is_synthetic"])
        if syn:
            st.warning(t("in.flag_is_synthetic", lang))
        show_scope(ctx, {"synthetic_share": float(syn)})


def _report(ctx: Ctx, kind: str, options: list[str], default: list[str], fetch) -> None:
    """The printable report: a multiselect of ids and a download of their HTML report."""
    lang = ctx.lang
    st.subheader(t("in.report", lang))
    picked = st.multiselect(t("in.report_pick", lang), options, default=default,
                            key=f"in_report_{kind}")
    if not picked:
        return
    city = ctx.city if lang == "en" else {"hangzhou": "杭州", "huzhou": "湖州"}.get(ctx.city, ctx.city)
    ids = tuple(picked)

    def build() -> bytes:
        rows, facets = fetch(ids)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        share = (float(rows["is_synthetic"].fillna(True).astype(bool).mean())
                 if "is_synthetic" in rows and len(rows) else float("nan"))
        note = (t("scope.synthetic", lang, share=f"{100 * share:.0f} %")
                if np.isfinite(share) else "")
        return rp.html_report(rows, kind, lang, city=city, facets=facets, generated=stamp,
                              synthetic_note=note).encode("utf-8")

    st.download_button(t("in.report_download", lang, n=len(ids)), data=build, mime="text/html",
                       file_name=f"{kind}_report_{ctx.city}_{lang}.html", on_click="ignore",
                       key=f"in_report_dl_{kind}")


# -- rooftop buildings -----------------------------------------------------------------------
def _building_pickers(ctx: Ctx) -> tuple[str | None, pd.DataFrame]:
    lang = ctx.lang
    ss = st.session_state
    _, dframe, _ = data.districts(*ctx.key)
    codes = ["", *dframe["adcode"]]
    names = dict(zip(dframe["adcode"], dframe[name_col(lang)], strict=True))
    if "in_district" not in ss:  # the PV page's district, else the first district
        ss["in_district"] = ss.get("pv_district") or (codes[1] if len(codes) > 1 else "")
    c1, c2, c3 = st.columns([2, 2, 3])
    district = c1.selectbox(t("pv.district", lang), codes, key="in_district", on_change=_clear_choice,
                            format_func=lambda c: names.get(c, t("app.all_districts", lang)))
    rank = c2.selectbox(t("pv.sort_by", lang), list(data.INSPECTOR_RANKS), key="in_rank",
                        on_change=_clear_choice, format_func=lambda c: column(c, lang))
    top = data.pv_ranked(*ctx.key, district or None, rank, TOP_N)
    ids = [str(b) for b in top["building_id"]]
    chosen = ss.get("building_id") or (ids[0] if ids else "")
    values = dict(zip(ids, top[rank], strict=True)) if rank in top else {}
    options = ids if chosen in ids or not chosen else [chosen, *ids]
    if options:
        ss["in_top"] = chosen
        c3.selectbox(t("in.top", lang, n=len(ids)), options, key="in_top", on_change=_on_top,
                     format_func=lambda b: (f"{b} · {column(rank, lang)}: {rp.fmt(values[b], rank)}"
                                            if b in values else b))
    ss["in_building"] = chosen
    st.text_input(t("in.pick", lang), key="in_building", on_change=_on_typed,
                  help=t("in.pick_help", lang))
    return chosen or None, top


def _top_map(ctx: Ctx, top: pd.DataFrame, chosen: str) -> None:
    """The district's top buildings, the chosen one in red; a click opens a building's sheet."""
    lang = ctx.lang
    if top.empty:
        return
    frame, _ = data.geo_frame(*ctx.key, "pv_buildings", ("building_id", "height_m",
                                                         "pv_yield_kwh_per_yr"),
                              where={"building_id": tuple(top["building_id"])})
    if frame.empty:
        return
    kwh = column("pv_yield_kwh_per_yr", lang)
    areas = pd.DataFrame({
        "polygon": frame["polygon"], "key": frame["building_id"].astype(str),
        "fill": [list(CHOSEN_RGBA if str(b) == chosen else TOP_RGBA) for b in frame["building_id"]],
        "tip": [f"{b}\n{kwh}: {rp.fmt(v, 'pv_yield_kwh_per_yr')}"
                for b, v in zip(frame["building_id"], frame["pv_yield_kwh_per_yr"], strict=True)]})
    bounds = _bounds(frame, pad=0.002)
    st.caption(t("in.map", lang))
    legend = (t("in.map_legend", lang), [(t("in.map_chosen", lang), _hex(CHOSEN_RGBA)),
                                         (t("in.map_top", lang), _hex(TOP_RGBA))])
    view = f"{ctx.city}:{st.session_state.get('in_district')}:{st.session_state.get('in_rank')}"
    city_map(ctx, areas, key="in_map", bounds=bounds, view=view, on_pick=_on_map, legend=legend,
             chosen=chosen, outline=True, marker_px=9.0, **_SMALL_MAP)


def _facet_map(ctx: Ctx, building_id: str) -> None:
    """The building's footprint and its roof facets (points), coloured by specific yield.

    ``pv_facets`` stores each facet as a point (its centroid); grey: not viable. Drawn as
    inline SVG (:func:`mapapp.report.svg_facets`, the report's function): a deck.gl map
    here cost seconds of the sheet's first render in a browser without a GPU.
    """
    lang = ctx.lang
    outline, _ = data.geo_frame(*ctx.key, "pv_buildings", ("building_id",),
                                where={"building_id": building_id})
    facets, _ = data.geo_frame(*ctx.key, "pv_facets", ("facet_id", "specific_yield_kwh_per_kwp",
                                                       "is_viable", "roof_area_m2"),
                               where={"building_id": building_id})
    svg = rp.svg_facets(outline, facets, lang)
    if not svg:
        return
    st.caption(t("in.facet_map", lang))
    # st.markdown, not st.html: st.html's sanitizer keeps HTML elements only and drops <svg>
    st.markdown(f'<div class="ct-facet-map">{svg}</div>', unsafe_allow_html=True)


def _building(ctx: Ctx) -> None:
    lang = ctx.lang
    bid, top = _building_pickers(ctx)
    if not bid:
        st.info(t("in.none", lang) + " " + t("in.pick_help", lang))
        return
    row = data.pv_building(*ctx.key, bid)
    if row.empty:
        st.warning(t("in.unknown", lang, id=bid))
        return
    r = row.iloc[0]
    facets = data.pv_facets(*ctx.key, bid)
    _flags(ctx, r)
    _figures(r, "rooftop", lang)
    c1, c2 = st.columns(2)
    with c1:
        _top_map(ctx, top, bid)
    with c2:
        _facet_map(ctx, bid)
    c1, c2 = st.columns(2)
    with c1:
        st.subheader(t("in.monthly", lang))
        chart(_monthly_chart, monthly_frame(r), lang)
    with c2:
        st.subheader(t("in.losses", lang))
        losses = rp.loss_frame(r)
        if len(losses):
            chart(_loss_chart, losses, lang)
            if not rp.cascade_closes(r):
                st.warning(t("in.cascade_gap", lang, gap=rp.fmt(rp.cascade_gap(r))))
    st.subheader(t("in.horizon", lang))
    if facets.empty:
        st.info(t("app.no_selection", lang))
    else:
        ids = list(facets["facet_id"])
        fid = st.selectbox(t("in.facet", lang), ids, key="in_facet") if len(ids) > 1 else ids[0]
        f = facets.loc[facets["facet_id"] == fid].iloc[0]
        chart(_polar, horizon_frame(f), lang, width=None)
    st.subheader(t("in.facets", lang))
    fv = facets[[c for c in _FACET_COLS if c in facets.columns]].copy()
    if "roof_type" in fv:
        fv["roof_type"] = fv["roof_type"].map(lambda v: category(v, lang))
    show_table(fv.round(2), lang, key="in_facets")
    st.subheader(t("in.attributes", lang))
    attrs = r.drop([c for c in r.index if c.startswith(("ac_kwh_", "poa_global_kwh_per_m2_"))])
    table = pd.DataFrame({"name": [column(str(k), lang) for k in attrs.index],
                          "value": [str(v) for v in attrs.to_numpy()]})
    show_table(table, lang, key="in_attributes")
    key = ctx.key
    ids = [str(b) for b in top["building_id"]]
    _report(ctx, "rooftop", list(dict.fromkeys([bid, *ids])), [bid, *[b for b in ids if b != bid]][:5],
            lambda chosen: data.pv_report_rows(*key, chosen))


# -- water, ground and wind sites ------------------------------------------------------------
def _site(ctx: Ctx, kind: str) -> None:
    lang = ctx.lang
    name, _ = _SITE_TABLES[kind]
    idc = rp.ID_COLUMN[kind]
    sites = data.table(*ctx.key, name)
    if sites.empty:
        st.info(t("app.no_selection", lang))
        return
    cap = _SITE_CAPACITY[kind]
    if cap in sites:
        sites = sites.sort_values([cap, idc], ascending=[False, True], kind="stable")
    ids = [str(s) for s in sites[idc]]
    top = ids[:TOP_N]
    values = dict(zip(ids, sites[cap], strict=True)) if cap in sites else {}
    sid = st.selectbox(t("in.top_sites", lang, n=len(ids)), ids, key=f"in_site_{kind}",
                       format_func=lambda s: (f"{s} · {column(cap, lang)}: {rp.fmt(values[s], cap)}"
                                              if s in values else s))
    r = sites.loc[sites[idc].astype(str) == sid].iloc[0]
    _flags(ctx, r)
    _figures(r, kind, lang)
    frame, _ = data.geo_frame(*ctx.key, name, (idc,), where={idc: sid})
    if len(frame):
        tip = (f"{sid}\n{column(cap, lang)}: {rp.fmt(r[cap], cap)}" if cap in r.index else sid)
        areas = frame.assign(fill=[[230, 120, 40, 220]] * len(frame), key=sid, tip=tip)
        bounds = _bounds(frame, pad=0.01 if "lon" in frame else 0.002)
        st.caption(t("in.site_map", lang))
        city_map(ctx, areas, key=f"in_site_map_{kind}", bounds=bounds,
                 view=f"{ctx.city}:{kind}:{sid}", chosen=sid, **_SMALL_MAP)
    if kind == "wind" and {"gross_energy_mwh_per_yr", "energy_mwh_per_yr"} <= set(r.index):
        e = pd.DataFrame({"label": [column("gross_energy_mwh_per_yr", lang),
                                    column("energy_mwh_per_yr", lang)],
                          "mwh": [float(r["gross_energy_mwh_per_yr"]), float(r["energy_mwh_per_yr"])]})
        st.altair_chart(alt.Chart(e).mark_bar(color="#2a9d8f").encode(
            y=alt.Y("label:N", title=None, sort=None), x=alt.X("mwh:Q", title="MWh/yr")),
            width="stretch")
    st.subheader(t("in.attributes", lang))
    table = pd.DataFrame({"name": [column(str(k), lang) for k in r.index],
                          "value": [str(v) for v in r.to_numpy()]})
    show_table(table, lang, key=f"in_site_attributes_{kind}")

    def fetch(chosen: tuple[str, ...]) -> tuple[pd.DataFrame, dict]:
        order = {s: i for i, s in enumerate(chosen)}
        rows = sites.loc[sites[idc].astype(str).isin(chosen)]
        return rows.iloc[np.argsort([order[str(s)] for s in rows[idc]], kind="stable")], {}

    _report(ctx, kind, ids, list(dict.fromkeys([sid, *top]))[:5], fetch)


def render(ctx: Ctx) -> None:
    """The inspector page: the sheet of a building or a site, and the printable report."""
    lang = ctx.lang
    kinds = sheet_kinds(data.tables(*ctx.key))
    if not kinds:
        need(ctx, "pv", ("pv_buildings", "pv_facets"))
        return
    kind = st.segmented_control(t("in.kind", lang), kinds, default=kinds[0], key="in_kind",
                                format_func=lambda k: t(f"in.kind_{k}", lang)) or kinds[0]
    if kind == "rooftop":
        _building(ctx)
    else:
        _site(ctx, kind)
