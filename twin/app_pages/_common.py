"""What every page shares: the page context, "not computed yet" messages, base map layers."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from twin import app_data as data
from twin import mapstyle as ms
from twin.i18n import columns, t

__all__ = ["Ctx", "base_layers", "name_col", "need", "show_table"]


@dataclass(frozen=True)
class Ctx:
    """What a page needs: where the twin is, which city, language, target year, basemap."""

    home: str
    city: str
    version: float
    lang: str
    year: int
    basemap: bool = False

    @property
    def key(self) -> tuple:
        """``(home, city, version)``: the first arguments of every :mod:`twin.app_data` call."""
        return (self.home, self.city, self.version)


def name_col(lang: str) -> str:
    """``name_zh`` or ``name_en``."""
    return "name_zh" if lang == "zh" else "name_en"


def need(ctx: Ctx, engine: str, names: tuple[str, ...]) -> bool:
    """True when every table of ``names`` exists; otherwise show which command computes them."""
    have = set(data.tables(*ctx.key))
    if all(n in have for n in names):
        return True
    st.info(t("app.not_computed", ctx.lang, cmd=data.command_for(engine, ctx.city)))
    return False


def base_layers(ctx: Ctx, *, choropleth: pd.DataFrame | None = None) -> list:
    """Water, major roads and district boundaries, over a ``choropleth`` when given.

    ``choropleth`` is :func:`twin.app_data.districts`' shapes with a ``fill`` column (and the
    tooltip's columns). Two kinds of deck.gl layer in all (polygons, lines): in a browser
    without a GPU each kind costs a few hundred milliseconds of the first render.
    """
    ctxl = data.context_layers(*ctx.key)
    out = []
    if choropleth is not None:
        out.append(ms.polygon_layer(choropleth, layer_id="choropleth"))
    if "water" in ctxl and len(ctxl["water"]):
        out.append(ms.polygon_layer(ctxl["water"], layer_id="water", colour=[120, 170, 220, 160],
                                    pickable=False))
    if "roads" in ctxl and len(ctxl["roads"]):
        out.append(ms.line_layer(ctxl["roads"], layer_id="roads", colour=(120, 120, 120, 200),
                                 width_px=1.0))
    if "boundaries" in ctxl and len(ctxl["boundaries"]):
        out.append(ms.line_layer(ctxl["boundaries"], layer_id="districts"))
    return out


def show_table(df: pd.DataFrame, lang: str, **kw):
    """A dataframe with translated column headers."""
    return st.dataframe(df.rename(columns=columns(df.columns, lang)), hide_index=True, **kw)
