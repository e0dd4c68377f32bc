"""The kernel's error helpers."""

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from twin.errors import ConfigError, SchemaError, require_columns


def test_require_columns_names_every_missing_column_what_was_found_and_the_fix():
    gdf = gpd.GeoDataFrame({"a": [1], "b": [2]}, geometry=[shapely.Point(0, 0)], crs=4549)
    require_columns(gdf, ["a", "b"], "x.gpkg", "add them")  # nothing missing: no error
    with pytest.raises(SchemaError) as info:
        require_columns(gdf, ["a", "c", "d"], "x.gpkg (layer buildings)", "rename them with --rename")
    assert str(info.value) == ("x.gpkg (layer buildings): missing required column(s) c, d; found a, b; "
                               "rename them with --rename")
    with pytest.raises(ConfigError, match=r"t\.csv: missing required column\(s\) unit; found none; add it"):
        require_columns(pd.DataFrame(), ["unit"], "t.csv", "add it", error=ConfigError)
