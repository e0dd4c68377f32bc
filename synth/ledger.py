"""The demo's synthetic installation ledgers, written as the energy bureau keeps them.

SYNTHETIC. Seeded draws (ranges in ``data/ledger/ledger.toml``, ``[synthetic]``): each
year after the base year, per kind, an addition drawn uniformly in the city's range is
split into projects of lognormal size, spread over the districts by fixed random weights,
each with a grid-connection date in the year. The frames carry the bureau's Chinese
headers (项目编号, 项目名称, 区县, 类型, 装机容量(MW), 并网日期; 站点编号, 充电桩数, 投运日期 ...)
so that the demo passes them through the same gate as an import
(:func:`layers.ledger.conform_ledger`) and stores them flagged ``is_synthetic``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from layers.ledger import ledger_config
from synth.context import seeded_rng

__all__ = ["synthetic_ledgers"]

_KIND_ZH = {"rooftop": "屋顶", "water": "水面", "ground": "地面", "wind": "风电", "storage": "储能"}


def _dates(rng: np.random.Generator, year: int, n: int) -> list[str]:
    start = dt.date(year, 1, 1).toordinal()
    days = (dt.date(year, 12, 31).toordinal() - start) + 1
    return [dt.date.fromordinal(start + int(d)).isoformat() for d in rng.integers(0, days, n)]


def _split(rng: np.random.Generator, total: float, mean: float, sigma: float) -> np.ndarray:
    n = max(1, int(round(total / mean)))
    w = rng.lognormal(0.0, sigma, n)
    return total * w / w.sum()


def synthetic_ledgers(city_id: str, district_adcodes: list[str], *, seed: int) -> dict[str, pd.DataFrame]:
    """Seeded PV/wind/storage and charging ledgers of a city, as spreadsheet frames.

    Parameters
    ----------
    city_id : str
        A city with a ``[synthetic.CITY]`` table in ``data/ledger/ledger.toml``.
    district_adcodes : list of str
        The city's district adcodes.
    seed : int
        Generator seed: the same seed gives the same ledgers.

    Returns
    -------
    dict
        ``{"pv_installations": frame, "charging_installations": frame}`` with the
        bureau's Chinese headers; empty when the city has no synthetic ranges.
    """
    cfg = ledger_config()
    syn = cfg["synthetic"]
    ranges = syn.get(city_id)
    if not ranges or not district_adcodes:
        return {}
    rng = seeded_rng(seed, 17, sum(map(ord, city_id)))
    codes = np.array(sorted(district_adcodes))
    weights = rng.dirichlet(np.full(len(codes), 2.0))
    pv_rows: list[tuple] = []
    ch_rows: list[tuple] = []
    years = range(int(cfg["base_year"]) + 1, int(syn["until"]) + 1)
    for year in years:
        for kind, zh in _KIND_ZH.items():
            lo, hi = ranges[f"{kind}_mw_per_yr"]
            total = float(rng.uniform(lo, hi))
            if total <= 0:
                continue
            mean = {"rooftop": 2.0, "water": 25.0, "ground": 20.0, "wind": 10.0, "storage": 20.0}[kind]
            sizes = _split(rng, total, mean, float(syn["project_mw_sigma"]))
            where = rng.choice(codes, size=len(sizes), p=weights)
            for size, code, date in zip(sizes, where, _dates(rng, year, len(sizes)), strict=True):
                n = len(pv_rows) + 1
                pv_rows.append((f"SYN-{city_id[:2].upper()}-PV-{n:05d}", f"合成{zh}项目 {n}", code, zh,
                                round(float(size), 3), date))
        lo, hi = ranges["public_piles_per_yr"]
        piles = int(rng.uniform(lo, hi))
        per_station = rng.integers(4, 24, max(1, piles // 12))
        where = rng.choice(codes, size=len(per_station), p=weights)
        for k, code, date in zip(per_station, where, _dates(rng, year, len(per_station)), strict=True):
            n = len(ch_rows) + 1
            ch_rows.append((f"SYN-{city_id[:2].upper()}-CS-{n:05d}", f"合成充电站 {n}", code, int(k),
                            float(k) * 60.0, "是", date))
    pv = pd.DataFrame(pv_rows, columns=["项目编号", "项目名称", "区县", "类型", "装机容量(MW)", "并网日期"])
    ch = pd.DataFrame(ch_rows, columns=["站点编号", "站点名称", "区县", "充电桩数", "总功率(kW)", "是否公用",
                                        "投运日期"])
    return {"pv_installations": pv, "charging_installations": ch}
