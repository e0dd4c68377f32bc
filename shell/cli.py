"""The ``twin`` command: a thin shell over the kernel, the layers and the engines.

Each command parses its options, calls one library function, and prints. ``demo``,
``info``, ``import`` and ``export`` are defined here; the engine commands (``pv``,
``sites``, ``sinks``, ``coverage`` and ``build``) come from :mod:`shell.commands`, their
options made from the engines' parameter dataclasses (:mod:`shell.options`), and run
an engine's ``load`` and ``compute`` and commit its result through :mod:`shell.runners`.
Errors of the project (:class:`~twin.errors.TwinError`) are shown as one line
with exit status 2, never as a stack trace (``-v`` shows logs; ``-vv`` debug).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from twin.errors import TwinError

__all__ = ["main"]

logger = logging.getLogger(__name__)


def _configure_logging(verbosity: int) -> None:
    level = max(logging.DEBUG, logging.WARNING - 10 * verbosity)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _cities():
    from twin.config import available_cities

    return available_cities()


class _CityChoice(click.Choice):
    """The city ids, read when the option is parsed (after ``--home``), not at import."""

    def __init__(self) -> None:
        super().__init__([])

    @property
    def choices(self):
        return _cities()

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ assigns it
        pass


def _city_option(multiple=False, required=False):
    help_ = ("City: a preset or a `twin city init` config (repeatable; default: all)."
             if multiple else "City: a preset or a `twin city init` config.")
    return click.option("--city", "city", multiple=multiple, required=required,
                        type=_CityChoice(), help=help_)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Log progress (-v) or debug details (-vv).")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="TWIN_HOME", help="Folder holding built twins [env TWIN_HOME; ./twin-data].")
@click.pass_context
def cli(ctx, verbose, home):
    """carbon-twin: a geospatial digital twin for Hangzhou and Huzhou."""
    _configure_logging(verbose)
    if home is not None:  # user city configs live under it ($TWIN_HOME/cities): one home for all
        os.environ["TWIN_HOME"] = str(home)
    ctx.obj = {"home": home}


@cli.command()
@_city_option(multiple=True)
@click.option("--scale", default="demo", show_default=True,
              help="'demo', 'full' (about 2 million buildings for Hangzhou), a fraction or a count.")
@click.option("--seed", type=int, default=None, help="Generator seed (default: the demo seed).")
@click.pass_context
def demo(ctx, city, scale, seed):
    """Build the embedded twin (real data + flagged synthetic layers)."""
    from tqdm import tqdm

    from shell.demo import DEFAULT_SEED, build_city

    cities = list(city) or _cities()
    for cid in cities:
        steps = 6
        with tqdm(total=steps, desc=cid, unit="step", file=sys.stderr,
                  bar_format="{desc}: {n}/{total} {bar} {postfix}") as bar:
            def progress(name, bar=bar):
                if bar.n or name != "boundaries":
                    bar.update(1)
                bar.set_postfix_str(name)

            store = build_city(cid, home=ctx.obj["home"], scale=scale,
                               seed=DEFAULT_SEED if seed is None else seed, progress=progress)
            bar.update(steps - bar.n)
        click.echo(f"built {cid}: {store.catalog_path}")


@cli.command()
@_city_option(multiple=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def info(ctx, city, as_json):
    """Describe built twins: catalog file, layers (rows, CRS, synthetic share) and targets."""
    from shell.info import describe_twins

    cities = list(city) or _cities()
    doc = describe_twins(cities, home=ctx.obj["home"])
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, default=str))
        return
    from shell.info import format_info

    click.echo(format_info(doc))


@cli.command(name="import")
@click.argument("layer")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_city_option(required=True)
@click.option("--crs", default=None, help="CRS of a file that declares none, e.g. EPSG:4326.")
@click.option("--gcj02", is_flag=True,
              help="The file is in GCJ-02 (Amap/Gaode) lon/lat: convert to WGS84 first.")
@click.option("--rename", multiple=True, metavar="SRC=DEST",
              help="Rename an input column to a schema column (repeatable).")
@click.option("--gpkg-layer", default=None, help="Layer inside a GeoPackage.")
@click.option("--height", "height_m", type=float, default=None,
              help="Height above ground of a wind_speed or wind_weibull_a/_k raster [m].")
@click.option("--scheme", default=None,
              help="Class scheme of landcover / landcover_raster: modis_igbp, worldcover, cn_landsurvey.")
@click.option("--layers", "osm_layers", default=None, metavar="L1,L2",
              help="`import osm` only: layers to replace (default: all OSM layers found in the city).")
@click.option("--json", "as_json", is_flag=True, help="`import osm` only: print the report as JSON.")
@click.option("--encoding", default=None,
              help="Text encoding of the file, e.g. GBK (a Shapefile without .cpg: UTF-8, else GB18030).")
@click.option("--min-cover", "min_cover", type=click.FloatRange(0, 1), default=None,
              help="Least share of the city the file must cover (0-1; default data/import/gate.toml).")
@click.option("--min-confidence", "min_confidence", type=click.FloatRange(0, 1), default=None,
              help="Google Open Buildings: least confidence kept (0-1; default "
                   "data/buildings/open_datasets.toml, 0.75); the rows below are dropped and counted.")
@click.pass_context
def import_(ctx, layer, file, city, crs, gcj02, rename, gpkg_layer, height_m, scheme, osm_layers,
            as_json, encoding, min_cover, min_confidence):
    """Import FILE as LAYER of a built twin (all or nothing; the previous layer stays on failure).

    LAYER is a vector layer (buildings, water, landcover, roads, charging_stations,
    service_areas, bus_stops, green_space, boundaries) or a raster (wind_speed,
    landcover_raster, dem). Buildings may also come from CityJSON (*.city.json) or an open
    dataset recognised by its columns (Overture GeoParquet, Google Open Buildings CSV, Microsoft
    GeoJSONL); `building_height FILE` fills estimated heights from a height raster (CNBH-10m).

    `twin import osm FILE.osm.pbf --city C [--layers buildings,roads,...]` replaces the
    twin's buildings, roads, charging_stations, bus_stops, green_space, water and
    landcover with an OpenStreetMap extract clipped to the city (all or nothing).

    The energy bureau's installation ledgers, pv_installations and
    charging_installations, are read from CSV or Excel (.xlsx) with Chinese or
    English headers (项目编号, 区县, 类型, 装机容量, 并网日期 ...; data/ledger/ledger.toml).
    """
    from shell.importer import import_layer

    if layer == "osm":
        from shell.importer import format_osm_report, import_osm

        names = [n.strip() for n in osm_layers.split(",") if n.strip()] if osm_layers else None
        doc = import_osm(city, file, layers=names, home=ctx.obj["home"])
        click.echo(json.dumps(doc, ensure_ascii=False) if as_json else format_osm_report(doc))
        return

    mapping = {}
    for item in rename:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not SRC=DEST", param_hint="--rename")
        src, dest = item.split("=", 1)
        mapping[src.strip()] = dest.strip()
    report = import_layer(city, layer, file, home=ctx.obj["home"], crs=crs, gcj02=gcj02,
                          rename=mapping, gpkg_layer=gpkg_layer, height_m=height_m, scheme=scheme,
                          encoding=encoding, min_cover=min_cover, min_confidence=min_confidence)
    click.echo(report.summary())
    for ident, reason in report.repaired[:20]:
        click.echo(f"  repaired {ident}: {reason}")
    for ident, reason in report.rejected[:20]:
        click.echo(f"  rejected {ident}: {reason}")
    more = len(report.repaired) + len(report.rejected) - 40
    if more > 0:
        click.echo(f"  ... {more} more (see `twin info --json`, import_report)")


@cli.command()
@click.argument("layer", type=click.Choice(["buildings", "tiles"]))
@_city_option(required=True)
@click.option("--format", "fmt", type=click.Choice(["cityjson", "gpkg", "parquet", "geojson", "pmtiles"]),
              default=None, help="File format (buildings: required; tiles: pmtiles).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file (required for buildings; tiles: default "
                   "$TWIN_HOME/<city>/tiles/<city>.pmtiles, where `twin serve` finds it).")
@click.option("--district", default=None, help="Only this district (adcode; buildings).")
@click.option("--layers", "tile_layers", default=None,
              help="tiles: comma-separated layers [default: every one the twin holds of buildings, "
                   "roads, charging_stations, bus_stops, green_space, water, water_pv_sites, "
                   "ground_pv_sites, wind_sites].")
@click.option("--min-zoom", type=click.IntRange(0, 20), default=8, show_default=True,
              help="tiles: first zoom of the archive.")
@click.option("--max-zoom", type=click.IntRange(0, 20), default=16, show_default=True,
              help="tiles: last zoom, with every feature (clients overzoom beyond it).")
@click.pass_context
def export(ctx, layer, city, fmt, out, district, tile_layers, min_zoom, max_zoom):
    """Export a layer of a built twin, or its vector tiles.

    Buildings: CityJSON 2.0, GeoPackage, GeoParquet, GeoJSON. Tiles
    (`twin export tiles --city C --out FILE.pmtiles`: every building with its
    PV figures and the other layers, PMTiles, Web Mercator).
    """
    if layer == "tiles":
        if fmt not in (None, "pmtiles"):
            raise click.BadParameter(f"tiles are written as pmtiles, not {fmt}", param_hint="--format")
        if district is not None:
            msg = "tiles cover the whole city"
            raise click.BadParameter(msg, param_hint="--district")
        from shell.tiles import export_tiles

        names = [n.strip() for n in tile_layers.split(",") if n.strip()] if tile_layers else None
        report = export_tiles(city, out, home=ctx.obj["home"], layers=names, min_zoom=min_zoom,
                              max_zoom=max_zoom)
        click.echo(report.summary())
        return
    if out is None:
        msg = "pass the output file"
        raise click.BadParameter(msg, param_hint="--out")
    if fmt is None or fmt == "pmtiles":
        msg = "choose cityjson, gpkg, parquet or geojson for a layer"
        raise click.BadParameter(msg,
                                 param_hint="--format")
    from shell.importer import export_layer

    n = export_layer(city, layer, out, fmt=fmt, home=ctx.obj["home"], district=district)
    click.echo(f"wrote {n} {layer} to {out}")


@cli.group()
def city():
    """City configs: write one for another city (`twin city init`)."""


@city.command(name="init")
@click.argument("name")
@click.option("--boundary", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Vector file with one polygon per district/county (adcode and name columns).")
@click.option("--adcode", default=None, help="City code, e.g. 330600 (needed when the file holds "
                                             "several cities).")
@click.option("--name-zh", default=None, help="Chinese name of the city, e.g. 绍兴市.")
@click.option("--name-en", default=None, help="English name (default: NAME titled).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write to [default: $TWIN_HOME/cities, searched after the presets].")
@click.option("--weather", default=None, help="EPW weather file (relative to data/ or absolute) "
                                              "[default: the Hangzhou SWERA proxy].")
@click.option("--crs", default=None, help="CRS of a boundary file that declares none.")
@click.option("--force", is_flag=True, help="Overwrite an existing config of that name.")
@click.pass_context
def city_init(ctx, name, boundary, adcode, name_zh, name_en, out, weather, crs, force):
    """Write a validated config skeleton for city NAME from its district boundary file.

    Districts (code, names) come from the file; the metric CRS is the CGCS2000 3-degree
    Gauss-Kruger zone of the city's longitude; [access] holds the default thresholds with
    their sources; the target list is empty, to fill in. Then `twin demo --city NAME`.
    """
    from shell.cityinit import init_city

    res = init_city(name, boundary, adcode=adcode, name_zh=name_zh, name_en=name_en, out=out,
                    home=ctx.obj["home"], weather=weather, crs=crs, force=force)
    c = res.city
    click.echo(f"wrote {res.config_path} ({c.name_zh}, {c.adcode}: {len(c.districts)} districts, "
               f"{c.metric_crs}) and {res.boundary_path.name}")
    where = "" if out is None else " (found by id when --out is $TWIN_HOME/cities)"
    click.echo(f"edit the lines marked EDIT, add the plan's targets, then `twin demo --city {c.id}`"
               + where)


def _register_engine_commands() -> None:
    """Add the engine commands (``shell/commands``), whose options come from the engines' parameters."""
    from shell.commands import build, coverage, pv, sinks, sites, validate

    for module in (pv, sites, sinks, coverage, build, validate):
        cli.add_command(module.command)


_register_engine_commands()


def _register_serve() -> None:
    from shell.commands import serve

    cli.add_command(serve.command)


_register_serve()


def main(argv=None) -> int:
    """Entry point of the ``twin`` console script."""
    try:
        status = cli.main(args=argv, prog_name="twin", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except TwinError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    return status if isinstance(status, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
