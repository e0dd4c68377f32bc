"""Building inspector: one building's roof facets, horizon profile, monthly yield, attributes.

The building comes from the PV siting table or map (``st.session_state["building_id"]``)
or is typed here; it is looked up with a parameterised query, never spliced into SQL.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from mapapp import data
from mapapp.i18n import category, column, t
from mapapp.pages._common import Ctx, need, show_table

__all__ = ["horizon_frame", "monthly_frame", "render"]

_FACET_COLS = ["facet_id", "roof_type", "surface_tilt", "surface_azimuth", "roof_area_m2",
               "installable_area_m2", "pdc0_kw", "ac_kwh", "specific_yield_kwh_per_kwp",
               "shading_loss_fraction", "is_viable", "exclusion_reason"]


def horizon_frame(facet: pd.Series) -> pd.DataFrame:
    """Horizon elevation per azimuth sector from ``horizon_elev_deg_NNN`` columns of a facet."""
    cols = sorted(c for c in facet.index if c.startswith("horizon_elev_deg_"))
    az = np.array([float(c.rsplit("_", 1)[1]) for c in cols])
    elev = facet[cols].to_numpy(float)
    return pd.DataFrame({"azimuth_deg": az, "elevation_deg": np.clip(elev, 0, 90)})


def monthly_frame(row: pd.Series) -> pd.DataFrame:
    """Monthly AC yield [kWh] from ``ac_kwh_01`` ... ``ac_kwh_12``."""
    cols = [f"ac_kwh_{m:02d}" for m in range(1, 13) if f"ac_kwh_{m:02d}" in row.index]
    return pd.DataFrame({"month": [int(c[-2:]) for c in cols],
                         "ac_kwh": row[cols].to_numpy(float)})


def _polar(h: pd.DataFrame, lang: str) -> alt.Chart:
    step = 360.0 / max(len(h), 1)
    base = alt.Chart(h.assign(span=step)).encode(
        theta=alt.Theta("span:Q", stack=True, sort=None),
        radius=alt.Radius("elevation_deg:Q", scale=alt.Scale(type="sqrt", zero=True,
                                                             domain=[0, 45])),
        tooltip=[alt.Tooltip("azimuth_deg:Q", title=t("in.azimuth", lang)),
                 alt.Tooltip("elevation_deg:Q", title=t("in.elevation", lang), format=".1f")])
    return base.mark_arc(color="#e76f51", stroke="#ffffff").properties(height=300, width=300)


def render(ctx: Ctx) -> None:
    """The building inspector page."""
    lang = ctx.lang
    if not need(ctx, "pv", ("pv_buildings", "pv_facets")):
        return
    if "in_building" not in st.session_state and st.session_state.get("building_id"):
        st.session_state["in_building"] = st.session_state["building_id"]
    bid = st.text_input(t("in.pick", lang), key="in_building", help=t("in.pick_help", lang))
    bid = (bid or "").strip()
    if not bid:
        st.info(t("in.none", lang) + " " + t("in.pick_help", lang))
        return
    row = data.pv_building(*ctx.key, bid)
    if row.empty:
        st.warning(t("in.unknown", lang, id=bid))
        return
    r = row.iloc[0]
    facets = data.pv_facets(*ctx.key, bid)
    c1, c2 = st.columns(2)
    with c1:
        st.subheader(t("in.monthly", lang))
        m = monthly_frame(r)
        st.altair_chart(alt.Chart(m).mark_bar(color="#2a9d8f").encode(
            x=alt.X("month:O", title=t("in.month", lang)),
            y=alt.Y("ac_kwh:Q", title=t("in.monthly", lang)),
            tooltip=["month", alt.Tooltip("ac_kwh:Q", format=",.0f")]), width="stretch")
    with c2:
        st.subheader(t("in.horizon", lang))
        if facets.empty:
            st.info(t("app.no_selection", lang))
        else:
            ids = list(facets["facet_id"])
            fid = st.selectbox(t("in.facet", lang), ids, key="in_facet") if len(ids) > 1 else ids[0]
            f = facets.loc[facets["facet_id"] == fid].iloc[0]
            st.altair_chart(_polar(horizon_frame(f), lang))
    st.subheader(t("in.facets", lang))
    fv = facets[[c for c in _FACET_COLS if c in facets.columns]].copy()
    if "roof_type" in fv:
        fv["roof_type"] = fv["roof_type"].map(lambda v: category(v, lang))
    show_table(fv.round(2), lang, key="in_facets")
    st.subheader(t("in.attributes", lang))
    attrs = r.drop([c for c in r.index if c.startswith("ac_kwh_")])
    table = pd.DataFrame({"name": [column(str(k), lang) for k in attrs.index],
                          "value": [str(v) for v in attrs.to_numpy()]})
    show_table(table, lang, key="in_attributes")
