"""What every page shares: the page context, "not computed yet" messages, base map layers."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from mapapp import data
from mapapp import mapstyle as ms
from mapapp.i18n import columns, t

__all__ = ["Ctx", "base_layers", "city_map", "name_col", "need", "show_table"]


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
        """``(home, city, version)``: the first arguments of every :mod:`mapapp.data` call."""
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


def base_layers(ctx: Ctx, *, bounds=None) -> list:
    """Water, major roads and district boundaries under a deck.gl map's own layers.

    Two kinds of deck.gl layer in all (polygons, lines): in a browser without a GPU each
    kind costs a few hundred milliseconds of the first render. With ``bounds`` (lon/lat
    ``minx, miny, maxx, maxy``, e.g. a district's) only what reaches into them, padded by a
    quarter of their size, is sent. (City-zoom aggregates are drawn by :func:`city_map`.)
    """
    ctxl = data.context_layers(*ctx.key)
    if bounds is not None:
        ctxl = {name: ms.within(df, bounds, pad=0.25) for name, df in ctxl.items()}
    out = []
    if "water" in ctxl and len(ctxl["water"]):
        out.append(ms.polygon_layer(ctxl["water"], layer_id="water", colour=[120, 170, 220, 160],
                                    pickable=False))
    if "roads" in ctxl and len(ctxl["roads"]):
        out.append(ms.line_layer(ctxl["roads"], layer_id="roads", colour=(120, 120, 120, 200),
                                 width_px=1.0))
    if "boundaries" in ctxl and len(ctxl["boundaries"]):
        out.append(ms.line_layer(ctxl["boundaries"], layer_id="districts"))
    return out


def city_map(ctx: Ctx, areas: pd.DataFrame, *, key: str, on_pick=None, legend=None,
             hint: str = "") -> None:
    """The city-zoom map: ``areas`` (a choropleth) over water, major roads and boundaries.

    ``areas`` has ``polygon``, ``fill``, ``key`` and ``tip`` columns (see
    :func:`mapapp.mapstyle.svg_map`). Drawn as SVG (:mod:`mapapp.pages._svgmap`): pan,
    zoom, a tooltip, ``on_pick`` called when an area is clicked, a ``legend`` (title,
    [(label, ``#rrggbb``)]) and a ``hint`` under the map.
    """
    from mapapp.pages._svgmap import svg_component

    ctxl = data.context_layers(*ctx.key)
    bounds = data.districts(*ctx.key)[2]
    lines = [(ctxl[name], colour, width) for name, colour, width in
             (("roads", (120, 120, 120, 200), 1.0), ("boundaries", (60, 60, 60, 230), 1.5))
             if name in ctxl]
    svg = ms.svg_map(areas, bounds, water=ctxl.get("water"), lines=lines)
    svg_component(svg, key=key, view=ctx.city, on_pick=on_pick, legend=legend,
                  hint=hint or t("app.city_map_hint", ctx.lang))


def show_table(df: pd.DataFrame, lang: str, **kw):
    """A dataframe with translated column headers."""
    return st.dataframe(df.rename(columns=columns(df.columns, lang)), hide_index=True, **kw)
