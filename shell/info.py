"""Describe built twins: where each lives, its layers and its targets (for ``twin info``)."""

from __future__ import annotations

from twin.config import load_city
from twin.store import TwinStore

__all__ = ["describe_twins", "format_info", "weather_checks"]


def describe_twins(cities: list[str], *, home=None) -> dict:
    """Return a JSON-ready description of the twins of ``cities``.

    Each city entry has ``built``, ``catalog`` (the DuckDB file), ``layers`` (name,
    rows, CRS, real and synthetic share, sources), ``rasters``, ``targets``
    (every record, with its status and whether it governs) and build metadata.
    """
    doc: dict = {"cities": {}}
    for cid in cities:
        city = load_city(cid)
        store = TwinStore(city.id, home)
        doc["home"] = str(store.home)
        entry: dict = {
            "name_zh": city.name_zh,
            "name_en": city.name_en,
            "catalog": str(store.catalog_path),
            "built": store.exists(),
        }
        entry["weather"] = weather_checks(city)
        targets = city.targets_frame()
        entry["targets"] = [
            {k: (None if _isna(v) else v) for k, v in row.items()}
            for row in targets.to_dict(orient="records")
        ]
        if not entry["built"]:
            entry["hint"] = f"build it with `twin demo --city {city.id}`"
            doc["cities"][cid] = entry
            continue
        layers = store.layers()
        entry["layers"] = [
            {
                "name": r.name,
                "rows": int(r.n_rows),
                "crs": r.crs,
                "synthetic_share": round(float(r.n_synthetic) / r.n_rows, 4) if r.n_rows else 0.0,
                "real_share": round(1 - float(r.n_synthetic) / r.n_rows, 4) if r.n_rows else 0.0,
                "source": r.source,
                "path": str(store.root / r.path),
            }
            for r in layers.itertuples()
        ]
        entry["rasters"] = [
            {"name": r.name, "crs": r.crs, "width": int(r.width), "height": int(r.height),
             "synthetic": bool(r.is_synthetic), "source": r.source, "path": str(store.root / r.path)}
            for r in store.rasters().itertuples()
        ]
        meta = store.meta()
        entry["build"] = meta.get("build", {})
        entry["weather_file"] = meta.get("weather_file")
        entry["attribution"] = meta.get("attribution", {})
        doc["cities"][cid] = entry
    return doc


def weather_checks(city) -> list[dict]:
    """The solar-time and consistency checks of each of the city's weather files.

    The default file first; each entry has ``file``, ``default`` and the fields of
    :class:`engines.pv.solar_time.WeatherCheck` (offset, clearness, closure, night hours,
    annual GHI, the correction a PV run applies and its status), or ``error``.
    """
    import pvlib

    from engines.pv.solar_time import read_checked_weather
    from twin.errors import TwinError

    location = pvlib.location.Location(city.latitude, city.longitude, tz=city.timezone,
                                       altitude=city.altitude_m)
    out = []
    for path in city.weather_paths:
        item: dict = {"file": path.name, "default": path == city.weather_path}
        try:
            item.update(read_checked_weather(path, location)[1].as_dict())
        except TwinError as exc:
            item["error"] = str(exc)
        out.append(item)
    return out


def _isna(value) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_info(doc: dict) -> str:
    """Human-readable form of :func:`describe_twins`."""
    lines = [f"twins in {doc.get('home', '?')}"]
    for cid, e in doc["cities"].items():
        lines.append("")
        lines.append(f"{e['name_en']} {e['name_zh']} ({cid}): catalog {e['catalog']}")
        if not e["built"]:
            lines.append(f"  not built: {e['hint']}")
        else:
            lines.append(f"  {'layer':<18} {'rows':>10}  {'crs':<10} {'synthetic':>9}")
            for lay in e["layers"]:
                lines.append(
                    f"  {lay['name']:<18} {lay['rows']:>10,}  {lay['crs']:<10} "
                    f"{lay['synthetic_share']:>8.1%}"
                )
            for r in e["rasters"]:
                lines.append(f"  raster {r['name']:<11} {r['width']}x{r['height']}  {r['crs']}")
            lines.append(f"  weather: {e.get('weather_file')}")
        for w in e.get("weather", []):
            mark = "default " if w["default"] else ""
            if "error" in w:
                lines.append(f"  {mark}weather {w['file']}: refused: {w['error']}")
                continue
            fix = f", corrected by {w['shift_h']:+g} h" if w["shift_h"] else ""
            lines.append(f"  {mark}weather {w['file']}: GHI {w['ghi_kwh_per_m2']:,.0f} kWh/m2, "
                         f"{w['offset_h']:+.2f} h off the sun{fix}, closure {w['closure_ratio']:.3f}, "
                         f"{w['night_hours']} night hours with irradiance")
        gov = [t for t in e["targets"] if t.get("is_governing")]
        n_tracked = sum(bool(t.get("tracked", True)) for t in gov)
        lines.append(f"  targets: {len(e['targets'])} records, {len(gov)} governing, "
                     f"{n_tracked} of them tracked by an engine")
        for t in gov:
            year = t.get("year") or "-"
            by = f"; {t['tracked_by']}" if t.get("tracked_by") else "; untracked"
            lines.append(
                f"    {t['id']:<14} {t['indicator_en'][:48]:<48} {t['comparator']}{t['value']:g} "
                f"{t['unit']} ({year}, {t['status']}, {t['source']}{by})"
            )
    return "\n".join(lines)
