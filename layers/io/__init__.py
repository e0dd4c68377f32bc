"""File IO at the edge: vector and raster files, CityJSON, GeoParquet outputs, exports."""
