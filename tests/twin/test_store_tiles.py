"""The MVT helper of the tile source: tiles whose features all vanished are left out."""

from __future__ import annotations

import mapbox_vector_tile
from hypothesis import given
from hypothesis import strategies as st

from twin.store import _mvt_has_features, connect_spatial


def test_a_layer_without_features_is_empty_and_one_with_a_feature_is_not():
    con = connect_spatial()
    empty, full = con.execute(
        "SELECT ST_AsMVT(r, 'b', 4096, '_geom') FILTER (WHERE r._geom IS NOT NULL) FROM "
        "(SELECT {'a': 1, '_geom': NULL::GEOMETRY} AS r, 0 AS g UNION ALL "
        "SELECT {'a': 2, '_geom': ST_Point(10, 10)}, 1) GROUP BY g ORDER BY g").fetchall()
    assert empty[0] and not _mvt_has_features(empty[0])  # DuckDB writes the bare layer
    assert _mvt_has_features(full[0])
    assert not _mvt_has_features(b"")


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3, unique=True),
       st.integers(0, 5))
def test_features_are_found_in_any_layer(names, n_features):
    layers = [{"name": name, "features": [{"geometry": "POINT(1 1)", "properties": {"k": "v" * i}}
                                          for i in range(n_features if j == len(names) - 1 else 0)]}
              for j, name in enumerate(names)]
    tile = mapbox_vector_tile.encode(layers)
    assert _mvt_has_features(tile) == (n_features > 0)
