"""Deterministic, seeded generator of the synthetic layers of the demo city.

:func:`generate_city` (in :mod:`synth.city`) takes the real district boundaries
of a city and the MODIS IGBP land-cover grid, and returns the synthetic layers
of the twin (townships, buildings, water, land cover, roads, charging stations,
service areas, bus stops, green space), every one in EPSG:4549 and conforming to
:data:`twin.schema.LAYERS`. Every feature carries ``is_synthetic=True`` and
``source="synthetic: carbon-twin generator v1, seed=<seed>"``. The same inputs
and seed give identical output.

Method (in order)
-----------------
1. **Big water** (:mod:`synth.water`): MODIS water cells (IGBP 0) become lakes
   (named 千岛湖 in Chun'an 330127 and 太湖 in northern Huzhou), plus West Lake 西湖 (an
   ellipse of 6.4 km² at 30.243 N, 120.142 E), the Qiantang River and the Grand
   Canal as buffered approximate centre lines, and seeded reservoirs in mountain
   counties.
2. **Settlements** (:mod:`synth.settlements`): per district a main centre, towns,
   industrial parks and villages (counts and building shares by district kind),
   sampled by rejection with weights by the MODIS class (built-up 1.0, cropland 0.7,
   forest 0.08, water 0) and a minimum spacing.
3. **Townships** (:mod:`synth.townships`): a seeded Voronoi tessellation of each
   district whose seeds are the main and town centres plus random points, clipped to
   the district.
4. **Green space** (:mod:`synth.green`): city, community and pocket parks and green
   belts in settlements; country parks on forest cells of hill districts.
5. **Inter-settlement roads** (:mod:`synth.roads`, planned before the buildings):
   the Gabriel graph of all centres plus auxiliary junctions, kept where it lies
   inside the city; its minimum spanning tree plus extra loops; motorways along
   shortest paths between district main centres (and to the city's northern and
   eastern edges); trunks from towns to their main centre.
6. **Buildings** (:mod:`synth.buildings`): each settlement has a rotated lot grid; a
   building is a rectangle inside its lot, so buildings never overlap; lots must lie
   inside the settlement's Voronoi cell (so settlements never overlap) and inside
   the district, and touch no water, park, road corridor or ``exclude`` area. Lots
   shrink in crowded districts so that they cover at most 35 % of dry land.
7. **Ponds** (:mod:`synth.water`): clusters of rectangular fishery ponds (60-200 m x
   40-150 m, dykes 6-12 m, 20-250 per cluster) in aquaculture districts, 0.03 ponds
   per building of the city, away from settlements and buildings, on cropland /
   mosaic / wetland cells first, then on urban / savanna cells of the plains (at
   0.05° MODIS labels Hangzhou's peri-urban fish-pond belts urban or savanna).
8. **Street lattices** (:mod:`synth.roads`) on the lot grid of each settlement
   (connected to its centre, avoiding water); all road segments are noded so that
   they meet only at shared end points, and only the largest connected network is
   kept.
9. **Points** (:mod:`synth.points`): service areas every 40-60 km of motorway,
   charging stations near centres and at service areas, bus stops every ~400-550 m
   along primary/secondary/tertiary roads in settlements.
10. **Land cover** (:mod:`synth.landcover`): each MODIS cell split into 4 x 4
   patches of which at least 11 (69 %) keep the cell's class; admixtures by class
   and district (bamboo, tea, wetland spots); forests get age class and growing
   stock.

The steps share :class:`synth.context.Context` (inputs, MODIS grid, random
streams keyed by seed, step tag and district) and exchange their results
explicitly; the road noding is in :mod:`synth.network`. The parameter tables
(building mixes, speeds, growing stock) are in :mod:`synth.tables` with their
references.

References
----------
.. [1] Friedl, M., Sulla-Menashe, D. (2015). MCD12C1 MODIS/Terra+Aqua Land Cover
   Type Yearly L3 Global 0.05Deg CMG V006. doi:10.5067/MODIS/MCD12C1.006
.. [2] GB 50352-2019 Uniform standard for design of civil buildings (storey heights).
.. [3] JTG B01-2014 Technical standard of highway engineering; CJJ 37-2012 Code for
   design of urban road engineering (design speeds).
.. [4] National Forestry and Grassland Administration (2019). China Forest Resources
   Report 2014-2018 (9th National Forest Inventory), growing stock 94.83 m³/ha.
"""

from __future__ import annotations

from synth.city import generate_city
from synth.context import GENERATOR_VERSION, KINDS, source_string

__all__ = ["GENERATOR_VERSION", "KINDS", "generate_city", "source_string"]
