"""What every page shares: the page context, messages, base map layers, scope captions.

A scope caption (:func:`show_scope`) says what an aggregate rests on: its synthetic
share and the buildings it covers of the city's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mapapp import data
from mapapp import mapstyle as ms
from mapapp.i18n import category, columns, t

__all__ = ["INPUT_LAYERS", "SCOPE_COLUMNS", "Ctx", "base_layers", "chart", "city_map", "layer_shares",
           "name_col", "need", "scope_text", "share_text", "show_scope", "show_table", "show_terrain",
           "terrain_text", "vega_spec"]
__all__ += ["html_table", "show_html_table"]

#: Columns (of :mod:`twin.schema`) that say what an aggregate rests on; read when a table has them.
SCOPE_COLUMNS = ("synthetic_share", "n_buildings", "city_buildings_estimate", "coverage_share",
                 "is_citywide")

#: Layers an engine's results rest on: the synthetic share a page states while the engine's
#: tables carry no ``synthetic_share`` column of their own.
INPUT_LAYERS: dict[str, tuple[str, ...]] = {
    "pv": ("buildings",),
    "sinks": ("landcover",),
    "sinks_raster": ("landcover_raster",),
    "coverage": ("buildings", "roads", "charging_stations", "service_areas", "bus_stops",
                 "green_space"),
    "wind": ("landcover", "buildings", "roads"),
}


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


@st.cache_data(max_entries=256, show_spinner=False)
def vega_spec(_build: Callable[..., Any], name: str, *args: Any) -> dict:
    """The Vega-Lite spec of the Altair chart ``_build(*args)``, cached across reruns and sessions.

    Building an Altair chart and converting it (``to_dict`` validates every part against
    the Vega-Lite JSON schema) costs about as much as the rest of a page: the overview's
    target panels took 70 % of its script time. The spec is what ``st.altair_chart``
    sends (Streamlit's own conversion, its data as Arrow bytes under content-hash names),
    keyed by ``name`` (the builder's qualified name: a function itself is not hashable) and
    the arguments (frames hashed by content).
    """
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    return _convert_altair_to_vega_lite_spec(_build(*args))


def chart(build: Callable[..., Any], *args: Any, width: str | None = "stretch") -> None:
    """Show the Altair chart ``build(*args)`` like ``st.altair_chart``, from :func:`vega_spec`."""
    spec = vega_spec(build, f"{build.__module__}.{build.__qualname__}", *args)
    st.vega_lite_chart(spec=spec, width=width)


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
             hint: str = "", bounds=None, view: str | None = None, **svg_options) -> None:
    """An SVG map of ``areas`` over water, major roads and boundaries (no deck.gl).

    The city-zoom map (a district choropleth) and, with ``bounds``, the inspector's
    building-zoom maps. ``areas`` has ``polygon`` (or ``lon``/``lat``), ``fill``, ``key``
    and ``tip`` columns (see :func:`mapapp.mapstyle.svg_map`). Drawn as SVG
    (:mod:`mapapp.pages._svgmap`): pan, zoom, a tooltip, ``on_pick`` called when an area is
    clicked (its key in ``st.session_state[key]["pick"]``), a ``legend`` (title,
    [(label, ``#rrggbb``)]) and a ``hint`` under the map.

    Parameters
    ----------
    bounds : tuple of float, optional
        Lon/lat ``(minx, miny, maxx, maxy)`` shown (default: the city's districts).
    view : str, optional
        What the map shows: pan and zoom are kept while it stays the same (default: the city).
    **svg_options
        Passed to :func:`mapapp.mapstyle.svg_map` (``width``, ``height``, ``clip``,
        ``chosen``, ``outline``, ``marker_px``, ``on_top``).
    """
    from mapapp.pages._svgmap import svg_component

    ctxl = data.context_layers(*ctx.key)
    if bounds is None:
        bounds = data.districts(*ctx.key)[2]
    lines = [(ctxl[name], colour, width) for name, colour, width in
             (("roads", (120, 120, 120, 200), 1.0), ("boundaries", (60, 60, 60, 230), 1.5))
             if name in ctxl]
    svg = ms.svg_map(areas, bounds, water=ctxl.get("water"), lines=lines, **svg_options)
    svg_component(svg, key=key, view=view or ctx.city, on_pick=on_pick, legend=legend,
                  hint=hint or t("app.city_map_hint", ctx.lang))


def show_table(df: pd.DataFrame, lang: str, **kw):
    """A dataframe with translated column headers."""
    return st.dataframe(df.rename(columns=columns(df.columns, lang)), hide_index=True, **kw)


def _pct(x: float) -> str:
    """A percentage for a caption: whole numbers, one decimal under 10 and near 100 (1.5, 99.6).

    Never 0 or 100 for a share that is neither (0.01 % reads 0.1, 99.99 % reads 99.9).
    """
    if 0 < x < 9.95 or 99 < x < 100:
        return f"{min(max(x, 0.1), 99.9):.1f}"
    return f"{x:.0f}"


def share_text(values) -> str:
    """``"97 %"`` (one share) or ``"72-97 %"`` (several) from fractions; ``""`` when none is known.

    Parameters
    ----------
    values : array-like of float
        Shares in [0, 1]; NaN and non-numeric entries are ignored.
    """
    v = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    v = v[np.isfinite(v)]
    if not len(v):
        return ""
    lo, hi = _pct(100 * float(v.min())), _pct(100 * float(v.max()))
    return f"{lo} %" if lo == hi else f"{lo}–{hi} %"


def _first(df: pd.DataFrame, col: str) -> float:
    """Largest finite value of ``col`` (NaN when the column is missing or empty)."""
    if col not in df.columns:
        return float("nan")
    v = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
    v = v[np.isfinite(v)]
    return float(v.max()) if len(v) else float("nan")


def _scale_text(df: pd.DataFrame, lang: str) -> str:
    """``demo: N of about M buildings (x %) ...``, ``citywide: N buildings`` or ``N buildings``."""
    n, total = _first(df, "n_buildings"), _first(df, "city_buildings_estimate")
    if not np.isfinite(n):
        return ""
    flags = df["is_citywide"].dropna() if "is_citywide" in df.columns else pd.Series([], dtype=object)
    citywide = bool(len(flags)) and bool(flags.astype(bool).all())
    if np.isfinite(total) and total > 0 and not citywide:
        return t("scope.demo", lang, n=int(n), total=int(total), pct=f"{_pct(100 * n / total)} %")
    if citywide:
        return t("scope.citywide", lang, n=int(n))
    return t("scope.buildings", lang, n=int(n))


def scope_text(frame: pd.DataFrame | Mapping | None, lang: str, *,
               layers: Mapping[str, float] | None = None) -> str:
    """One line on what an aggregate rests on: its synthetic share and its scale.

    E.g. ``"Synthetic input: 94 % · demo: 30,761 of about 2,000,000 buildings (1.5 %), a
    sample not comparable with citywide targets"``. Reads the :data:`SCOPE_COLUMNS` the
    table (or one row, a mapping) has; several rows give a range of shares. Without a
    ``synthetic_share`` column the shares of the ``layers`` it rests on are given instead.

    Parameters
    ----------
    frame : DataFrame, mapping or None
        The aggregate's rows (or one row).
    lang : str
        Label language.
    layers : mapping of str to float, optional
        Layer name -> synthetic share (:func:`layer_shares`), the fallback.

    Returns
    -------
    str
        The line, or ``""`` when nothing is known.
    """
    if frame is None:
        df = pd.DataFrame()
    elif isinstance(frame, pd.DataFrame):
        df = frame
    else:
        df = pd.DataFrame([dict(frame)])
    parts = []
    share = share_text(df["synthetic_share"]) if "synthetic_share" in df.columns else ""
    if share:
        parts.append(t("scope.synthetic", lang, share=share))
    elif layers:
        shown = ", ".join(f"{category(name, lang)} {share_text([v])}" for name, v in layers.items()
                          if share_text([v]))
        if shown:
            parts.append(t("scope.synthetic_layers", lang, layers=shown))
    scale = _scale_text(df, lang)
    if scale:
        parts.append(scale)
    return " · ".join(parts)


def layer_shares(ctx: Ctx, names: Sequence[str]) -> dict[str, float]:
    """Synthetic share of each layer or raster of ``names`` the twin has.

    A layer's is ``n_synthetic / n_rows`` (``_layers``), a raster's 0 or 1 (``_rasters``).
    """
    lay = data.layers_table(*ctx.key).set_index("name")
    ras = data.rasters_table(*ctx.key).set_index("name")
    out = {}
    for n in names:
        if n in lay.index:
            out[n] = float(lay.at[n, "n_synthetic"]) / max(int(lay.at[n, "n_rows"]), 1)
        elif n in ras.index and not pd.isna(ras.at[n, "is_synthetic"]):
            out[n] = float(bool(ras.at[n, "is_synthetic"]))
    return out


def terrain_text(meta: Mapping, engine: str, lang: str) -> str:
    """Whether an engine's figures used the twin's DEM, from its run metadata (``""``: unknown).

    ``engine`` is ``pv`` (terrain horizons, ``meta["pv"]``), ``wind`` (slope exclusion and
    air density at the sites' elevation, ``meta["wind_screen"]``) or ``ground`` (slope
    exclusion of ground PV, ``meta["pv_sites"]``).
    """
    if engine not in ("pv", "wind", "ground"):
        return ""
    what = t(f"terrain.{engine}", lang)
    if engine == "pv":
        m = meta.get("pv") or {}
        note = str(m.get("terrain_horizon", ""))
        if not note:
            return ""
        if m.get("shading") is False:
            return t("terrain.no_shading", lang)
        used = bool(m.get("terrain_used", "terrain horizons from the DEM" in note))
    elif engine == "wind":
        m = meta.get("wind_screen") or {}
        if "slope_screened" not in m:
            return ""
        used = bool(m["slope_screened"]) or int(m.get("n_sites_elevation_from_dem", 0) or 0) > 0
    elif engine == "ground":
        m = meta.get("pv_sites") or {}
        if "slope_from_dem" not in m:
            return ""
        used = bool(m["slope_from_dem"])
    return t("terrain.used" if used else "terrain.not_used", lang, what=what)


def show_terrain(ctx: Ctx, engine: str) -> str:
    """Caption :func:`terrain_text` for ``engine``; return the text (``""``: nothing shown)."""
    text = terrain_text(data.meta(*ctx.key), engine, ctx.lang)
    if text:
        st.caption(text)
    return text


def show_scope(ctx: Ctx, frame: pd.DataFrame | Mapping | None = None, *, engine: str | None = None,
               prefix: str = "") -> str:
    """Caption an aggregate with :func:`scope_text`; return the text (``""``: nothing shown).

    ``engine`` names the layers of :data:`INPUT_LAYERS` whose synthetic share stands in
    when ``frame`` gives no synthetic share (no column, or no value); ``prefix`` (e.g. what the figure
    is) goes before the line.
    """
    layers = layer_shares(ctx, INPUT_LAYERS.get(engine, ())) if engine else None
    text = scope_text(frame, ctx.lang, layers=layers)
    if text:
        st.caption(f"{prefix}: {text}" if prefix else text)
    return text


#: Style of :func:`html_table` (one rule set, scoped by its class).
_TABLE_CSS = (
    "<style>.ct-tbl{overflow-x:auto;margin:0 0 0.6rem 0}"
    ".ct-tbl table{border-collapse:collapse;font-size:0.82rem;line-height:1.35}"
    ".ct-tbl th,.ct-tbl td{padding:2px 10px 2px 6px;border-bottom:1px solid rgba(128,128,128,.25);"
    "white-space:nowrap}.ct-tbl th{text-align:left;font-weight:600}"
    ".ct-tbl td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".ct-tbl summary{cursor:pointer;font-size:0.9rem;padding:4px 0}</style>")


def _cell(v: Any, sep: bool = True) -> tuple[str, bool]:
    """A table cell's escaped text and whether it is a number (right-aligned); NaN is empty.

    Integers get thousands separators unless ``sep`` is false (years).
    """
    import html

    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA or v is pd.NaT:
        return "", False
    if isinstance(v, (bool, np.bool_)):
        return html.escape(str(bool(v))), False
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if sep else str(int(v)), True
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.3f}".rstrip("0").rstrip("."), True
    return html.escape(str(v)), False


def html_table(df: pd.DataFrame, lang: str, *, summary: str | None = None) -> str:
    """``df`` as a light HTML table with translated, escaped headers and cells.

    For small tables that need no sorting or scrolling: a browser lays it out with the
    page, where ``st.dataframe`` loads its grid chunk and draws a canvas per table (the
    overview's eight grids took most of its first render). With ``summary`` the table is
    folded in a ``<details>`` element: closed, nothing is drawn and nothing reruns when
    it is opened. Numbers are thousands-separated, up to three decimals, NaN empty.
    """
    import html

    labels = columns(df.columns, lang)
    head = "".join(f"<th>{html.escape(str(labels[c]))}</th>" for c in df.columns)
    seps = [not (str(c) == "year" or str(c).endswith("_year")) for c in df.columns]
    rows = []
    for rec in df.itertuples(index=False, name=None):
        cells = [_cell(v, sep) for v, sep in zip(rec, seps, strict=True)]
        rows.append("<tr>" + "".join(f'<td class="n">{s}</td>' if num else f"<td>{s}</td>"
                                     for s, num in cells) + "</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    if summary is not None:
        table = f"<details><summary>{html.escape(summary)}</summary>{table}</details>"
    return f'{_TABLE_CSS}<div class="ct-tbl">{table}</div>'


def show_html_table(df: pd.DataFrame, lang: str, *, summary: str | None = None) -> None:
    """Show :func:`html_table` (``st.html``: sanitised, not iframed)."""
    st.html(html_table(df, lang, summary=summary))
