"""Parameter tables of the generator steps of :mod:`synth` (documented there).

Building mixes
--------------
Each settlement type has a building mix: rows of
``(use_class, share, floors_lo, floors_hi, storey_m, w_lo, w_hi, d_lo, d_hi,
(p_flat, p_gable, p_hip), year_lo, year_hi)``. Footprints are ``w x d`` [m]
rectangles; ``storey_m = 0`` means an industrial shed whose height is drawn
directly from 8-15 m with one floor. Storey heights follow GB 50352-2019 practice
(residential 2.8-3.0 m, offices 3.6-4.2 m, shops 4.2-5.0 m).

Speeds
------
Free-flow road speeds [km/h] by class: motorway 100, trunk 80, primary 60,
secondary 50, tertiary 40, residential 30, service 20 (design speeds of
JTG B01-2014 and CJJ 37-2012, rounded).

Forest growing stock
--------------------
Growing stock [m³/ha] by age class, drawn uniformly in: young 15-45, middle 40-80,
near_mature 70-110, mature 90-140, over_mature 110-170; the mean over the age
mix is about 60 m³/ha, close to Zhejiang's arbor-forest average (~70 m³/ha) and
below China's national average of 94.8 m³/ha (9th National Forest Inventory,
2014-2018, National Forestry and Grassland Administration, 2019). Bamboo
stands get no age class and no growing stock (bamboo is inventoried by culms).
"""

from __future__ import annotations

__all__: list[str] = []

FLAT, GABLE, HIP = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
RURAL_ROOF = (0.2, 0.45, 0.35)

#: lot (grid cell) size [m] and street block size [lots] by settlement type
SETTLEMENT_TYPES: dict[str, dict] = {
    "core": {"cell_m": 55.0, "block": 3},
    "newtown": {"cell_m": 60.0, "block": 3},
    "industrial": {"cell_m": 165.0, "block": 1},
    "county_town": {"cell_m": 40.0, "block": 3},
    "town": {"cell_m": 32.0, "block": 3},
    "village": {"cell_m": 22.0, "block": 3},
}

MIXES: dict[str, list[tuple]] = {
    "core": [
        ("residential", 0.32, 18, 33, 3.0, 22, 38, 14, 20, FLAT, 1998, 2023),
        ("residential", 0.20, 5, 9, 3.0, 30, 60, 10, 14, (0.8, 0.15, 0.05), 1975, 2005),
        ("office", 0.12, 10, 50, 3.9, 25, 45, 25, 45, FLAT, 1995, 2023),
        ("commercial", 0.15, 2, 6, 4.5, 30, 60, 30, 60, FLAT, 1990, 2023),
        ("public", 0.04, 2, 5, 4.2, 20, 45, 20, 45, FLAT, 1980, 2023),
        ("government", 0.03, 4, 12, 3.8, 25, 50, 15, 30, FLAT, 1980, 2023),
        ("education", 0.07, 3, 6, 3.9, 30, 70, 15, 20, (0.85, 0.1, 0.05), 1975, 2023),
        ("health", 0.04, 5, 20, 4.2, 30, 50, 20, 40, FLAT, 1985, 2023),
        ("other", 0.03, 1, 3, 3.6, 10, 20, 8, 15, (0.6, 0.3, 0.1), 1970, 2023),
    ],
    "newtown": [
        ("residential", 0.42, 11, 33, 3.0, 22, 38, 14, 20, FLAT, 2003, 2023),
        ("office", 0.08, 10, 30, 3.9, 25, 45, 25, 45, FLAT, 2005, 2023),
        ("commercial", 0.10, 2, 5, 4.5, 30, 55, 30, 55, FLAT, 2000, 2023),
        ("industrial", 0.08, 1, 4, 5.0, 30, 50, 20, 40, (0.6, 0.4, 0.0), 1995, 2023),
        ("warehouse", 0.04, 1, 1, 9.0, 30, 55, 25, 50, (0.5, 0.5, 0.0), 1995, 2023),
        ("public", 0.03, 2, 5, 4.2, 20, 45, 20, 45, FLAT, 2000, 2023),
        ("government", 0.02, 4, 10, 3.8, 25, 50, 15, 30, FLAT, 2000, 2023),
        ("education", 0.05, 3, 6, 3.9, 30, 55, 15, 20, FLAT, 2000, 2023),
        ("health", 0.03, 4, 16, 4.2, 30, 50, 20, 40, FLAT, 2000, 2023),
        ("rural_residential", 0.15, 2, 4, 3.0, 10, 15, 8, 12, RURAL_ROOF, 1980, 2020),
    ],
    "industrial": [
        ("industrial", 0.65, 1, 1, 0.0, 45, 160, 40, 140, (0.55, 0.45, 0.0), 1995, 2023),
        ("warehouse", 0.25, 1, 1, 0.0, 45, 160, 40, 140, (0.5, 0.5, 0.0), 1995, 2023),
        ("office", 0.05, 4, 8, 3.9, 30, 50, 15, 25, FLAT, 1995, 2023),
        ("other", 0.05, 1, 2, 4.0, 10, 30, 10, 25, (0.5, 0.5, 0.0), 1995, 2023),
    ],
    "county_town": [
        ("residential", 0.40, 4, 11, 3.0, 25, 34, 10, 14, (0.85, 0.1, 0.05), 1985, 2023),
        ("residential", 0.08, 18, 26, 3.0, 22, 32, 14, 18, FLAT, 2005, 2023),
        ("commercial", 0.14, 2, 5, 4.5, 20, 34, 15, 34, FLAT, 1985, 2023),
        ("rural_residential", 0.12, 2, 4, 3.0, 10, 15, 8, 12, RURAL_ROOF, 1975, 2023),
        ("public", 0.04, 2, 4, 4.2, 20, 34, 15, 30, FLAT, 1980, 2023),
        ("government", 0.04, 3, 8, 3.8, 20, 34, 12, 20, FLAT, 1980, 2023),
        ("education", 0.06, 3, 5, 3.9, 25, 34, 12, 18, FLAT, 1980, 2023),
        ("health", 0.03, 3, 12, 4.2, 20, 34, 15, 30, FLAT, 1985, 2023),
        ("office", 0.04, 5, 12, 3.8, 20, 34, 15, 25, FLAT, 1990, 2023),
        ("industrial", 0.05, 1, 3, 5.0, 20, 34, 15, 34, (0.6, 0.4, 0.0), 1990, 2023),
    ],
    "town": [
        ("residential", 0.30, 3, 7, 3.0, 18, 26, 10, 13, (0.7, 0.2, 0.1), 1980, 2023),
        ("rural_residential", 0.38, 2, 4, 3.0, 10, 15, 8, 12, RURAL_ROOF, 1970, 2023),
        ("commercial", 0.12, 2, 4, 4.2, 12, 26, 10, 20, (0.8, 0.15, 0.05), 1980, 2023),
        ("public", 0.04, 2, 3, 3.9, 12, 26, 10, 20, FLAT, 1975, 2023),
        ("government", 0.03, 2, 5, 3.8, 15, 26, 10, 16, FLAT, 1975, 2023),
        ("education", 0.05, 2, 4, 3.9, 18, 26, 10, 16, FLAT, 1975, 2023),
        ("health", 0.02, 2, 5, 4.0, 15, 26, 10, 18, FLAT, 1980, 2023),
        ("industrial", 0.04, 1, 2, 5.0, 15, 26, 12, 26, (0.5, 0.5, 0.0), 1985, 2023),
        ("agricultural", 0.02, 1, 1, 4.0, 8, 16, 6, 10, GABLE, 1975, 2023),
    ],
    "village": [
        ("rural_residential", 0.87, 2, 4, 3.0, 9, 15, 7, 12, RURAL_ROOF, 1970, 2023),
        ("agricultural", 0.05, 1, 1, 4.0, 8, 16, 6, 10, GABLE, 1970, 2023),
        ("commercial", 0.03, 2, 3, 3.6, 9, 15, 7, 12, (0.5, 0.3, 0.2), 1980, 2023),
        ("public", 0.02, 2, 3, 3.6, 10, 16, 8, 12, (0.6, 0.2, 0.2), 1980, 2023),
        ("other", 0.03, 1, 2, 3.6, 6, 12, 5, 10, (0.4, 0.4, 0.2), 1970, 2023),
    ],
}

#: relative building density [buildings per km², relative] by district kind
KIND_DENSITY = {"dense_core": 8.0, "new_town": 3.0, "plains_village": 1.8, "mountain_county": 0.7}

#: township count range by district kind
TOWNSHIP_RANGE = {"dense_core": (8, 14), "new_town": (10, 20), "plains_village": (8, 14),
                  "mountain_county": (12, 22)}

#: settlement plan by kind: role -> (settlement type, share of buildings, km² per settlement,
#: min count, max count); the main centre is one settlement
PLANS: dict[str, dict[str, tuple]] = {
    "dense_core": {"main": ("core", 0.10, 0, 1, 1), "town": ("core", 0.90, 6.0, 3, 40)},
    "new_town": {"main": ("newtown", 0.18, 0, 1, 1), "town": ("newtown", 0.30, 70.0, 3, 12),
                 "industrial": ("industrial", 0.04, 100.0, 2, 10),
                 "village": ("village", 0.48, 5.0, 6, 250)},
    "plains_village": {"main": ("county_town", 0.15, 0, 1, 1), "town": ("town", 0.22, 90.0, 3, 12),
                       "industrial": ("industrial", 0.03, 300.0, 1, 4),
                       "village": ("village", 0.60, 4.0, 6, 400)},
    "mountain_county": {"main": ("county_town", 0.14, 0, 1, 1), "town": ("town", 0.20, 150.0, 4, 18),
                        "industrial": ("industrial", 0.02, 800.0, 1, 3),
                        "village": ("village", 0.64, 8.0, 8, 500)},
}

#: settlement-centre sampling weight by twin land-cover class of the MODIS cell
CLASS_WEIGHT = {"built_up": 1.0, "cropland": 0.7, "grassland": 0.4, "shrubland": 0.3,
                "barren": 0.2, "wetland": 0.1, "water": 0.0, "": 0.05}
FOREST_WEIGHT = 0.08

SPEED_KMH = {"motorway": 100.0, "trunk": 80.0, "primary": 60.0, "secondary": 50.0,
             "tertiary": 40.0, "residential": 30.0, "service": 20.0}

FOREST_CLASSES = ("evergreen_needleleaf_forest", "evergreen_broadleaf_forest",
                  "deciduous_needleleaf_forest", "deciduous_broadleaf_forest", "mixed_forest",
                  "bamboo_forest")
AGE_CLASSES = ("young", "middle", "near_mature", "mature", "over_mature")
AGE_P = (0.30, 0.35, 0.18, 0.12, 0.05)
STOCK_RANGE = {"young": (15, 45), "middle": (40, 80), "near_mature": (70, 110),
               "mature": (90, 140), "over_mature": (110, 170)}

#: admixture classes (weights) inside a MODIS cell of a given twin class
_FOREST_ADMIX = {"evergreen_needleleaf_forest": 0.25, "evergreen_broadleaf_forest": 0.2,
                 "mixed_forest": 0.2, "shrubland": 0.12, "cropland": 0.12, "orchard": 0.06,
                 "built_up": 0.04, "water": 0.01}
ADMIX: dict[str, dict[str, float]] = {
    **dict.fromkeys(FOREST_CLASSES, _FOREST_ADMIX),
    "shrubland": {"mixed_forest": 0.3, "evergreen_needleleaf_forest": 0.15, "grassland": 0.1,
                  "cropland": 0.2, "orchard": 0.15, "built_up": 0.1},
    "cropland": {"built_up": 0.35, "water": 0.12, "orchard": 0.15, "mixed_forest": 0.1,
                 "grassland": 0.1, "wetland": 0.05, "evergreen_broadleaf_forest": 0.13},
    "built_up": {"cropland": 0.4, "grassland": 0.25, "water": 0.15, "mixed_forest": 0.2},
    "water": {"wetland": 0.4, "cropland": 0.3, "built_up": 0.15, "mixed_forest": 0.15},
    "wetland": {"water": 0.5, "cropland": 0.3, "grassland": 0.2},
}
DEFAULT_ADMIX = {"shrubland": 0.4, "cropland": 0.3, "built_up": 0.3}

#: districts with bamboo (Anji, Lin'an, Deqing west, Yuhang west) and tea (Xihu Longjing, Anji,
#: Deqing, Changxing, Chun'an)
BAMBOO_ADCODES = {"330523": None, "330112": None, "330521": "west", "330110": "west"}
TEA_ADCODES = {"330106", "330523", "330521", "330522", "330127"}
#: wetland spots (lon, lat): Xixi wetland; Xiazhu Lake 下渚湖 (Deqing)
WETLAND_SPOTS = ((120.07, 30.27), (120.06, 30.55))

#: approximate river / canal centre lines (lon, lat), half width [m]
RIVERS = [
    ("钱塘江 Qiantang River (approximate)", "river", 450.0,
     [(119.60, 29.75), (119.75, 29.85), (119.90, 29.98), (119.98, 30.05), (120.08, 30.13),
      (120.14, 30.18), (120.19, 30.21), (120.26, 30.24), (120.33, 30.28), (120.45, 30.31),
      (120.60, 30.33), (120.75, 30.37), (120.90, 30.38)]),
    ("京杭大运河 Grand Canal (approximate)", "canal", 35.0,
     [(120.150, 30.280), (120.150, 30.310), (120.160, 30.340), (120.180, 30.370),
      (120.220, 30.410), (120.250, 30.450), (120.230, 30.500), (120.180, 30.560),
      (120.150, 30.650), (120.120, 30.800), (120.100, 30.870)]),
]
WEST_LAKE = ((120.142, 30.243), 6.4e6)  # centre (lon, lat), area [m²]
