"""The figures of a building's or a site's sheet, and a printable HTML report of a selection.

One table of figures per kind (:data:`FIGURES`) serves the inspector page and the report,
so both show the same numbers, formatted once (:func:`fmt`). The report is a single
self-contained HTML file (no script, no external resource): per building or site a table
of its figures, its flags, and its charts drawn as inline SVG (monthly AC yield and
plane-of-array irradiation, the loss cascade, the shading horizon). Every text that comes
from the catalog (ids, names, categories) is escaped with :func:`html.escape`.

This module is pure: it takes data frames and returns text; it reads no file and no catalog.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mapapp import mapstyle as ms
from mapapp.i18n import category, column, t

__all__ = ["FIGURES", "FLAGS", "ID_COLUMN", "LOSSES", "cascade_closes", "cascade_gap", "fmt",
           "horizon_points", "html_report",
           "loss_frame", "monthly_poa_frame", "sheet_figures", "svg_bars", "svg_facets",
           "svg_horizon",
           "svg_losses", "svg_monthly"]

#: Kind -> the column that identifies a row of it.
ID_COLUMN = {"rooftop": "building_id", "water": "pv_site_id", "ground": "pv_site_id",
             "wind": "site_id"}

_PV_SITE = ("capacity_mwp", "pv_energy_mwh_per_yr", "capacity_factor",
            "specific_yield_kwh_per_kwp", "area_m2", "usable_area_m2", "storage_power_mw",
            "storage_energy_mwh", "co2_avoided_t_co2_per_yr", "capex_cny", "lcoe_cny_per_kwh",
            "simple_payback_yr")

#: Kind -> the figures of its sheet, in order (columns the table lacks are skipped).
FIGURES: dict[str, tuple[str, ...]] = {
    "rooftop": ("pv_capacity_kwp", "pv_yield_kwh_per_yr", "capacity_factor",
                "specific_yield_kwh_per_kwp", "panel_count", "sunshine_h",
                "co2_avoided_t_co2_per_yr", "lcoe_cny_per_kwh", "simple_payback_yr",
                "shading_loss_fraction", "nominal_kwh"),
    "water": _PV_SITE,
    "ground": _PV_SITE,
    "wind": ("capacity_mw", "energy_mwh_per_yr", "gross_energy_mwh_per_yr", "capacity_factor",
             "wind_speed_hub_m_per_s", "weibull_k", "weibull_c_m_per_s", "hub_height_m",
             "rotor_diameter_m", "roughness_length_m"),
}

#: Kind -> descriptive (text) columns shown beside the figures.
_TEXTS: dict[str, tuple[str, ...]] = {
    "rooftop": ("district_adcode", "use_class", "roof_type", "height_m", "n_facets",
                "n_viable_facets"),
    "water": ("name", "water_type", "site_category", "mounting", "district_adcode"),
    "ground": ("site_category", "mounting", "district_adcode"),
    "wind": ("turbine_type", "wind_area_id", "candidate_area", "resource_source",
             "district_adcode"),
}

#: Quality flags: a true value is a caveat on the figures.
FLAGS = ("is_synthetic", "height_defaulted", "roof_type_defaulted", "is_screening_estimate")

#: The loss cascade from the nominal (STC, unshaded) energy to the AC yield, in order.
LOSSES = ("loss_horizon_kwh", "loss_iam_kwh", "loss_temperature_kwh", "loss_system_kwh",
          "loss_inverter_kwh")

_FRACTIONS = {"capacity_factor", "shading_loss_fraction", "array_coverage_ratio"}


def _keys(row: pd.Series | Mapping) -> set:
    """Column names of a row (a Series' index, a mapping's keys)."""
    return set(row.index) if isinstance(row, pd.Series) else set(row)


def fmt(value: object, name: str = "") -> str:
    """A figure as shown on a sheet and in the report.

    Fractions (``capacity_factor``, ``*_fraction``) with three decimals, values of 100 or
    more as whole numbers with thousands separators, smaller ones with two decimals;
    ``"–"`` for a missing value; text as it is; booleans as ``yes``/``no``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return "–"
        if name in _FRACTIONS or name.endswith("_fraction"):
            return f"{v:.3f}"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"
    return str(value)


def sheet_figures(row: pd.Series | Mapping, kind: str) -> list[tuple[str, str]]:
    """``(column, formatted value)`` of the figures of ``kind`` that ``row`` has."""
    keys = _keys(row)
    return [(c, fmt(row[c], c)) for c in FIGURES[kind] if c in keys]


def _texts(row: pd.Series | Mapping, kind: str, lang: str) -> list[tuple[str, str]]:
    keys = _keys(row)
    out = []
    for c in _TEXTS[kind]:
        if c in keys:
            v = row[c]
            out.append((c, category(v, lang) if isinstance(v, str) else fmt(v, c)))
    return out


def monthly_poa_frame(row: pd.Series | Mapping) -> pd.DataFrame:
    """Monthly AC yield [kWh] and plane-of-array irradiation [kWh/m²] of a building row.

    Columns ``month`` (1-12), ``ac_kwh`` and ``poa_kwh_per_m2`` (NaN where the row lacks it).
    """
    months = np.arange(1, 13)
    get = row.get
    ac = [get(f"ac_kwh_{m:02d}", np.nan) for m in months]
    poa = [get(f"poa_global_kwh_per_m2_{m:02d}", np.nan) for m in months]
    return pd.DataFrame({"month": months, "ac_kwh": pd.to_numeric(pd.Series(ac), errors="coerce"),
                         "poa_kwh_per_m2": pd.to_numeric(pd.Series(poa), errors="coerce")})


def loss_frame(row: pd.Series | Mapping) -> pd.DataFrame:
    """The loss cascade of a building as a waterfall: nominal energy, each loss, AC yield.

    Columns ``step`` (a column name), ``kwh`` (the step's size, losses negative), ``start``
    and ``end`` (the running energy before and after the step) [kWh/yr]. Empty when the row
    has no ``nominal_kwh``.
    """
    if "nominal_kwh" not in _keys(row):
        return pd.DataFrame(columns=["step", "kwh", "start", "end"])
    level = float(row["nominal_kwh"])
    rows = [("nominal_kwh", level, 0.0, level)]
    for c in LOSSES:
        if c in _keys(row) and pd.notna(row[c]):
            loss = float(row[c])
            rows.append((c, -loss, level, level - loss))
            level -= loss
    ac = float(row["pv_yield_kwh_per_yr"]) if "pv_yield_kwh_per_yr" in _keys(row) else level
    rows.append(("pv_yield_kwh_per_yr", ac, 0.0, ac))
    return pd.DataFrame(rows, columns=["step", "kwh", "start", "end"])


def cascade_gap(row: pd.Series | Mapping) -> float:
    """How far the loss cascade misses the AC yield [kWh/yr]: ``nominal - losses - AC``.

    0 when the cascade closes (as :mod:`engines.pv.yield_` defines it); NaN when the row has
    no cascade. A sheet flags a gap above 1 % of the AC yield.
    """
    f = loss_frame(row)
    if f.empty:
        return float("nan")
    return float(f["end"].iloc[-2] - f["end"].iloc[-1])


def cascade_closes(row: pd.Series | Mapping, rtol: float = 0.01) -> bool:
    """True when :func:`cascade_gap` is within ``rtol`` of the AC yield (or there is no cascade)."""
    gap = cascade_gap(row)
    if not np.isfinite(gap):
        return True
    ac = float(row["pv_yield_kwh_per_yr"]) if "pv_yield_kwh_per_yr" in _keys(row) else 0.0
    return abs(gap) <= rtol * max(abs(ac), 1.0)


def horizon_points(facet: pd.Series | Mapping) -> pd.DataFrame:
    """Horizon elevation [°] per azimuth sector [°] from a facet's ``horizon_elev_deg_NNN``."""
    cols = sorted(c for c in _keys(facet) if str(c).startswith("horizon_elev_deg_"))
    az = np.array([float(str(c).rsplit("_", 1)[1]) for c in cols])
    elev = pd.to_numeric(pd.Series([facet[c] for c in cols], dtype=object), errors="coerce")
    return pd.DataFrame({"azimuth_deg": az, "elevation_deg": np.clip(elev.to_numpy(float), 0, 90)})


# -- inline SVG ----------------------------------------------------------------------------
def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def svg_bars(values: Sequence[float], labels: Sequence[str], *, title: str, colour: str = "#2a9d8f",
             width: int = 420, height: int = 180, line: Sequence[float] | None = None,
             line_label: str = "") -> str:
    """A vertical bar chart (and an optional line on its own scale) as an ``<svg>`` element."""
    v = np.nan_to_num(np.asarray(values, float))
    n = max(len(v), 1)
    top = float(v.max()) if len(v) and v.max() > 0 else 1.0
    pad_l, pad_b, pad_t = 8, 18, 20
    plot_h = height - pad_b - pad_t
    bw = (width - 2 * pad_l) / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{_esc(title)}"><title>{_esc(title)}</title>',
             f'<text x="{pad_l}" y="13" font-size="11">{_esc(title)}</text>']
    for i, (val, lab) in enumerate(zip(v, labels, strict=False)):
        h = plot_h * val / top
        x = pad_l + i * bw
        parts.append(f'<rect x="{x + 1:.1f}" y="{pad_t + plot_h - h:.1f}" width="{bw - 2:.1f}" '
                     f'height="{h:.1f}" fill="{colour}"><title>{_esc(lab)}: {fmt(float(val))}'
                     f'</title></rect>')
        parts.append(f'<text x="{x + bw / 2:.1f}" y="{height - 5}" font-size="9" '
                     f'text-anchor="middle">{_esc(lab)}</text>')
    if line is not None:
        w = np.asarray(line, float)
        if np.isfinite(w).any() and np.nanmax(w) > 0:
            wt = float(np.nanmax(w))
            pts = " ".join(f"{pad_l + (i + 0.5) * bw:.1f},{pad_t + plot_h * (1 - y / wt):.1f}"
                           for i, y in enumerate(w) if np.isfinite(y))
            parts.append(f'<polyline points="{pts}" fill="none" stroke="#e76f51" stroke-width="2"/>')
            parts.append(f'<text x="{width - pad_l}" y="13" font-size="11" fill="#e76f51" '
                         f'text-anchor="end">{_esc(line_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_monthly(frame: pd.DataFrame, lang: str) -> str:
    """Monthly AC yield bars with the plane-of-array irradiation as a line."""
    poa = frame["poa_kwh_per_m2"] if frame["poa_kwh_per_m2"].notna().any() else None
    return svg_bars(frame["ac_kwh"].to_numpy(float), [str(m) for m in frame["month"]],
                    title=t("in.monthly", lang), line=None if poa is None else poa.to_numpy(float),
                    line_label=t("in.poa", lang))


def svg_losses(frame: pd.DataFrame, lang: str, *, width: int = 420) -> str:
    """The loss cascade (:func:`loss_frame`) as horizontal waterfall bars."""
    if frame.empty:
        return ""
    top = float(frame[["start", "end"]].to_numpy(float).max()) or 1.0
    row_h, label_w = 18, 170
    height = 20 + row_h * len(frame)
    scale = (width - label_w - 60) / top
    title = t("in.losses", lang)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{_esc(title)}"><title>{_esc(title)}</title>',
             f'<text x="0" y="13" font-size="11">{_esc(title)}</text>']
    for i, r in enumerate(frame.itertuples(index=False)):
        y = 20 + i * row_h
        lo, hi = sorted((float(r.start), float(r.end)))
        colour = "#e76f51" if float(r.kwh) < 0 else "#2a9d8f"
        parts.append(f'<text x="0" y="{y + 12}" font-size="10">{_esc(column(str(r.step), lang))}</text>')
        parts.append(f'<rect x="{label_w + lo * scale:.1f}" y="{y + 2}" '
                     f'width="{max((hi - lo) * scale, 0.5):.1f}" height="{row_h - 4}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + hi * scale + 3:.1f}" y="{y + 12}" font-size="10">'
                     f'{_esc(fmt(float(r.kwh)))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_horizon(points: pd.DataFrame, lang: str, *, size: int = 200) -> str:
    """The shading horizon as a polar plot: north up, clockwise, elevation 0° at the rim.

    The horizon (grey) is drawn from the rim inwards: a point at elevation ``e`` lies at
    radius ``R (1 - e / 90)``, so the open sky is the white centre.
    """
    if points.empty:
        return ""
    c = size / 2
    rr = c - 14
    title = t("in.horizon", lang)
    az = np.radians(points["azimuth_deg"].to_numpy(float))
    r = rr * (1 - points["elevation_deg"].to_numpy(float) / 90.0)
    xs, ys = c + r * np.sin(az), c - r * np.cos(az)
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
            f'aria-label="{_esc(title)}"><title>{_esc(title)}</title>'
            f'<circle cx="{c}" cy="{c}" r="{rr}" fill="#9aa0a6"/>'
            f'<polygon points="{pts}" fill="#ffffff" stroke="#e76f51"/>'
            f'<circle cx="{c}" cy="{c}" r="{rr * 2 / 3:.1f}" fill="none" stroke="#ccc"/>'
            f'<text x="{c}" y="10" font-size="10" text-anchor="middle">N</text>'
            f'<text x="{size - 6}" y="{c + 4}" font-size="10" text-anchor="end">E</text>'
            f'<text x="{c}" y="{size - 2}" font-size="10" text-anchor="middle">S</text>'
            f'<text x="4" y="{c + 4}" font-size="10">W</text></svg>')


def _text_px(text: str, size: float = 11.0) -> float:
    """Rough width [px] of ``text`` at ``size``: CJK about one em, Latin about 0.6 em."""
    return sum(size if ord(ch) > 0x2E7F else 0.6 * size for ch in text)


def svg_facets(outline: pd.DataFrame, facets: pd.DataFrame, lang: str, *, width: int = 420,
               height: int = 300) -> str:
    """A building's roof facets on a small map, coloured by specific yield, with a legend.

    One function for the inspector sheet and the printable report: inline SVG, drawn in
    web-mercator like the app's maps (:class:`mapapp.mapstyle._Frame`), no tiles and no
    WebGL, so it is on screen at once and prints.

    Parameters
    ----------
    outline : DataFrame
        The building's footprint: ``polygon`` (lon/lat rings, :func:`mapapp.data._pack`);
        may be empty.
    facets : DataFrame
        Its ``pv_facets`` rows with ``lon``, ``lat`` (the facet's centroid [°]),
        ``facet_id``, ``specific_yield_kwh_per_kwp`` [kWh/kWp], ``is_viable`` and
        ``roof_area_m2`` [m²] (circle area ~ roof area); not viable facets are grey.
    lang : {"zh", "en"}
        Language of the title, legend and tooltips.
    width, height : int
        Size of the map [px]; the legend adds a line below.

    Returns
    -------
    str
        ``<svg>`` markup (every text escaped), or "" when there is nothing to draw.
    """
    has_outline = len(outline) > 0 and "polygon" in outline
    has_points = len(facets) > 0 and {"lon", "lat"} <= set(facets.columns)
    if not has_outline and not has_points:
        return ""
    pts: list[np.ndarray] = []
    if has_outline:
        pts += [np.asarray(r, float).reshape(-1, 2) for p in outline["polygon"] for r in ms._rings(p)]
    if has_points:
        pts.append(facets[["lon", "lat"]].to_numpy(float))
    xy = np.concatenate([p for p in pts if len(p)])
    xy = xy[np.isfinite(xy).all(axis=1)]
    if not len(xy):
        return ""
    pad = 0.0002  # [°], about 20 m
    bounds = (xy[:, 0].min() - pad, xy[:, 1].min() - pad, xy[:, 0].max() + pad, xy[:, 1].max() + pad)
    frame = ms._Frame(bounds, width, height, pad_px=12.0)
    title = t("in.facet_map", lang)
    legend_h = 22
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="facet-map" width="{width}" '
           f'height="{height + legend_h}" viewBox="0 0 {width} {height + legend_h}" '
           f'style="max-width:100%;height:auto" font-family="sans-serif" role="img" '
           f'aria-label="{_esc(title)}"><title>{_esc(title)}</title>'
           f'<rect width="{width}" height="{height}" fill="#f7f7f4"/>'
           f'<g transform="scale(0.1)">']  # _Frame writes tenths of a pixel
    if has_outline:
        d = frame.path([r for p in outline["polygon"] for r in ms._rings(p)], True)
        out.append(f'<path class="footprint" d="{d}" fill="rgb(220,220,220)" stroke="rgb(40,40,40)" '
                   f'stroke-width="15"/>')
    sy_name = column("specific_yield_kwh_per_kwp", lang)
    items: list[tuple[str, str]] = []
    if has_points:
        sy = pd.to_numeric(facets.get("specific_yield_kwh_per_kwp"), errors="coerce")
        sy = sy.to_numpy(float) if sy is not None else np.full(len(facets), np.nan)
        viable = (facets["is_viable"].fillna(False).astype(bool).to_numpy() if "is_viable" in facets
                  else np.ones(len(facets), bool))
        lo, hi = ms.value_range(sy[viable] if viable.any() else sy)
        fill = ms.ramp(sy, lo, hi, palette="viridis")
        area = pd.to_numeric(facets.get("roof_area_m2", pd.Series(16.0, index=facets.index)),
                             errors="coerce").fillna(16.0).to_numpy(float).clip(16.0)
        lat = np.radians(facets["lat"].to_numpy(float))
        r_px = np.sqrt(area) / 3 / (6_378_137.0 * np.cos(lat)) * frame.scale  # [m] -> mercator -> px
        centres = (ms._mercator(facets[["lon", "lat"]].to_numpy(float)) - frame.origin) \
            * frame.scale * np.array([1.0, -1.0]) + frame.centre
        ids = facets["facet_id"] if "facet_id" in facets else pd.Series(range(len(facets)))
        for (cx, cy), r, c, ok, fid, v in zip(centres, r_px, fill, viable, ids, sy, strict=True):
            colour = f"rgb({c[0]},{c[1]},{c[2]})" if ok else "rgb(160,160,160)"
            tip = f"{fid}\n{sy_name}: {fmt(float(v))}" + ("" if ok else f" ({t('in.not_viable', lang)})")
            out.append(f'<circle class="facet" cx="{cx * 10:.0f}" cy="{cy * 10:.0f}" '
                       f'r="{max(float(r), 3.0) * 10:.0f}" fill="{colour}" stroke="rgb(40,40,40)" '
                       f'stroke-width="10"><title>{_esc(tip)}</title></circle>')
        if viable.any():
            items = ms.legend_items(sy[viable], lo, hi, palette="viridis")
        if not viable.all():
            items.append((t("in.not_viable", lang), "#a0a0a0"))
    out.append("</g>")
    x, y = 4.0, height + 15
    out.append(f'<text x="{x}" y="{y}" font-size="11" font-weight="bold">{_esc(sy_name)}</text>')
    x += 8 + _text_px(sy_name)
    for label, colour in items:
        out.append(f'<rect class="swatch" x="{x:.0f}" y="{y - 10}" width="11" height="11" '
                   f'fill="{colour}" stroke="#555"/><text x="{x + 14:.0f}" y="{y}" font-size="11">'
                   f'{_esc(label)}</text>')
        x += 22 + _text_px(label)
    out.append("</svg>")
    return "".join(out)


# -- the report ----------------------------------------------------------------------------
_CSS = ("body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em;color:#222}"
        "section{page-break-inside:avoid;border-top:1px solid #999;padding-top:1em;margin-top:1em}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;"
        "text-align:left}td.n{text-align:right}.flag{color:#b00020}.charts svg{margin-right:1em}"
        "@page{size:A4;margin:1.5cm}"
        # print: the summary on the first page, then one page per building or site; no map
        # tiles or images to fetch (the charts are inline SVG)
        "@media print{body{margin:0;font-size:11pt}section{break-before:page;"
        "page-break-before:always;border-top:none;margin-top:0}h2{break-after:avoid}"
        "table,.charts svg{break-inside:avoid;page-break-inside:avoid}}")


def _table(pairs: list[tuple[str, str]], lang: str) -> str:
    body = "".join(f"<tr><th>{_esc(column(k, lang))}</th><td class=\"n\">{_esc(v)}</td></tr>"
                   for k, v in pairs)
    return f"<table>{body}</table>"


def _flags(row: pd.Series | Mapping, lang: str) -> str:
    on = [t(f"in.flag_{f}", lang) for f in FLAGS
          if f in _keys(row) and pd.notna(row[f]) and bool(row[f])]
    if not cascade_closes(row):
        on.append(t("in.cascade_gap", lang, gap=fmt(cascade_gap(row))))
    if not on:
        return ""
    return "<p class=\"flag\">" + " · ".join(_esc(f) for f in on) + "</p>"


def html_report(rows: pd.DataFrame, kind: str, lang: str, *, city: str = "",
                facets: Mapping[str, pd.DataFrame] | None = None, generated: str = "",
                synthetic_note: str = "") -> str:
    """A printable, self-contained HTML report of the buildings or sites in ``rows``.

    Parameters
    ----------
    rows : DataFrame
        One row per building (``pv_buildings``) or site (``water_pv_sites``,
        ``ground_pv_sites``, ``wind_sites``), in the order to print.
    kind : {"rooftop", "water", "ground", "wind"}
        What the rows are.
    lang : {"zh", "en"}
        Language of the labels.
    city : str
        City name for the title.
    facets : mapping of str to DataFrame, optional
        Building id -> its ``pv_facets`` rows (the first facet's horizon is drawn; with
        ``lon``/``lat``, and the row's footprint ``polygon``, the facet map
        :func:`svg_facets`).
    generated : str
        A line on when and from what the report was made.
    synthetic_note : str
        What the figures rest on (e.g. the synthetic share), printed under the title.

    Returns
    -------
    str
        The HTML document. Every catalog text is escaped.
    """
    if kind not in FIGURES:
        msg = f"report kind {kind!r} is not one of {sorted(FIGURES)}"
        raise ValueError(msg)
    idc = ID_COLUMN[kind]
    title = t("rp.title", lang, kind=t(f"in.kind_{kind}", lang), city=city)
    out = [f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
           f'<meta charset="utf-8"><title>{_esc(title)}</title><style>{_CSS}</style></head><body>',
           f"<h1>{_esc(title)}</h1>",
           f"<p>{_esc(t('rp.count', lang, n=len(rows)))}</p>"]
    if synthetic_note:
        out.append(f"<p class=\"flag\">{_esc(synthetic_note)}</p>")
    if generated:
        out.append(f"<p>{_esc(generated)}</p>")
    # the summary table: one line per row with its main figures
    figs = [c for c in FIGURES[kind] if c in rows.columns][:6]
    head = "".join(f"<th>{_esc(column(c, lang))}</th>" for c in (idc, *figs))
    lines = "".join("<tr>" + f"<td>{_esc(r[idc])}</td>"
                    + "".join(f"<td class=\"n\">{_esc(fmt(r[c], c))}</td>" for c in figs) + "</tr>"
                    for _, r in rows.iterrows())
    out.append(f"<h2>{_esc(t('rp.summary', lang))}</h2><table><tr>{head}</tr>{lines}</table>")
    for _, r in rows.iterrows():
        rid = str(r[idc])
        out.append(f'<section id="{_esc(idc)}-{_esc(rid)}"><h2>{_esc(column(idc, lang))}: '
                   f"{_esc(rid)}</h2>")
        out.append(_flags(r, lang))
        out.append(_table([*_texts(r, kind, lang), *sheet_figures(r, kind)], lang))
        if kind == "rooftop":
            charts = [svg_monthly(monthly_poa_frame(r), lang), svg_losses(loss_frame(r), lang)]
            f = (facets or {}).get(rid)
            if f is not None and len(f):
                charts.append(svg_horizon(horizon_points(f.iloc[0]), lang))
            outline = (pd.DataFrame({"polygon": [r["polygon"]]})
                       if "polygon" in r.index and isinstance(r["polygon"], list | tuple | np.ndarray)
                       and len(r["polygon"]) else pd.DataFrame())
            charts.append(svg_facets(outline, f if f is not None else pd.DataFrame(), lang))
            out.append('<div class="charts">' + "".join(charts) + "</div>")
        out.append("</section>")
    out.append("</body></html>")
    return "".join(out)
