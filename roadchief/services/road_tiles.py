"""Vector tiles of the road network (Mapbox Vector Tile, layer `roads`), so a province-sized map
never asks for the whole network at once (#15): each request carries one 256-px square's roads,
quantised to the tile's 4096-unit grid.

Two builders give the same tile:
- PostgreSQL with PostGIS: `ST_AsMVTGeom` + `ST_AsMVT` in the database — the path at scale;
- anywhere else (SQLite, PostgreSQL without the extension): shapely + `mapbox_vector_tile` in Python.

Each feature's id is the segment id; its properties are what the overview is coloured by
(`class`, `listed`, `town_code`, `grade`). The rest — names, stakes, chiefs — comes from
`GET /api/v1/segments/<id>` when someone opens the segment, as at every other zoom.
"""

from __future__ import annotations

import json
from functools import lru_cache

from flask import current_app
from sqlalchemy import String, case, func, literal, literal_column, select, text

from roadchief.domain import tiles
from roadchief.domain.grades import grade_for
from roadchief.extensions import db
from roadchief.models import Road, Segment, Station, Town, Village
from roadchief.services.data_version import BodyCache, network_version
from roadchief.services.permissions import segment_condition, segment_scope
from roadchief.services.units import latest_scores

LAYER = "roads"
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


def geometry_column(z: int):
    """The band pre-simplified at import for this zoom (as `services.map_data` chooses)."""
    return Segment.geometry_low if z <= 10 else Segment.geometry_mid if z <= 13 else Segment.geometry


def postgis_schema() -> str | None:
    """The schema PostGIS is installed in on this connection's database, or None."""
    bind = db.session.get_bind()
    if bind.dialect.name != "postgresql":
        return None
    return _postgis_schema_cached(str(bind.url))


@lru_cache(maxsize=16)
def _postgis_schema_cached(url: str) -> str | None:
    return db.session.scalar(
        text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'postgis'"
        )
    )


EXTENT_CACHE_SIZE = 256  # scopes: the offices, the towns, the chiefs signed in lately


def scope_key(user) -> tuple:
    """What a user's map depends on beside the network: whom the tiles and the extent are for."""
    scope = segment_scope(user)
    return (
        scope,
        user.town_id if scope == "town" else None,
        user.chief_id if scope == "chief" else None,
    )


def scope_extent(user) -> tuple[int, tuple[float, float, float, float] | None]:
    """How many segments the user sees and their lon/lat box: the map page decides from the
    count whether to draw tiles, and fits the first view to the box without loading the roads.
    Kept per (network version, scope), as the tiles are: the front page asks on every visit."""
    extents = current_app.extensions.setdefault("roadchief_extents", BodyCache(size=EXTENT_CACHE_SIZE))
    return extents.get_or_build((network_version(), scope_key(user)), lambda: _scope_extent(user))


def _scope_extent(user) -> tuple[int, tuple[float, float, float, float] | None]:
    count, min_lon, min_lat, max_lon, max_lat = db.session.execute(
        select(
            func.count(Segment.id),
            func.min(Segment.min_lon),
            func.min(Segment.min_lat),
            func.max(Segment.max_lon),
            func.max(Segment.max_lat),
        ).where(segment_condition(user))
    ).one()
    return count, (None if not count else (min_lon, min_lat, max_lon, max_lat))


def builder() -> str:
    """`postgis` or `python`: which builder answers on this database (shown on the ops page)."""
    return "postgis" if postgis_schema() else "python"


def _grades() -> dict[str, str]:
    return {key: grade_for(score) for key, (_period, score) in latest_scores().items()}


def unit_key_sql(road_class=Road.road_class, town_code=Town.code, village_code=Village.code, station_code=Station.code):
    """The SQL twin of `services.units.unit_key_for_segment` (村道 → village, 镇道 → station or
    town), on the same four values; tests/integration/test_road_tiles.py runs both on every case.
    A code counts as given when it is neither NULL nor empty, as Python's truthiness has it."""

    def given(code):
        return func.coalesce(code, "") != ""

    return case(
        ((road_class == "村道") & given(village_code), literal("village:") + village_code),
        ((road_class == "镇道") & given(station_code), literal("station:") + station_code),
        (road_class == "镇道", literal("town:") + town_code),
        else_=None,
    )


def _rows(user, z: int, x: int, y: int):
    """Segments whose box meets the (buffered) tile and lie in the user's scope."""
    min_lon, min_lat, max_lon, max_lat = tiles.tile_lonlat_bounds(z, x, y, buffer=tiles.BUFFER)
    return (
        select(
            Segment.id.label("id"),
            Road.road_class.label("class"),
            Segment.is_listed.label("listed"),
            Town.code.label("town_code"),
            unit_key_sql().label("unit_key"),
            geometry_column(z).label("geometry"),
        )
        .join(Road, Segment.road_id == Road.id)
        .join(Town, Segment.town_id == Town.id)
        .outerjoin(Village, Segment.village_id == Village.id)
        .outerjoin(Station, Segment.station_id == Station.id)
        .where(
            Segment.max_lon >= min_lon,
            Segment.min_lon <= max_lon,
            Segment.max_lat >= min_lat,
            Segment.min_lat <= max_lat,
            segment_condition(user),
        )
        .order_by(Segment.id)
    )


def road_tile(user, z: int, x: int, y: int) -> bytes:
    """The tile's bytes (uncompressed MVT; empty bytes for a tile without roads). The caller has
    checked the coordinates (`domain.tiles.check_tile`: the API answers 400 before its cache)."""
    schema = postgis_schema()
    if schema:
        return _postgis_tile(schema, user, z, x, y)
    return _python_tile(user, z, x, y)


# ---------------------------------------------------------------------------------- PostGIS


def _postgis_tile(schema: str, user, z: int, x: int, y: int) -> bytes:
    gis = getattr(func, schema)  # the extension lives outside the app's search_path (one schema per app)
    extent, buffer = tiles.extent_for(z), tiles.buffer_for(z)
    rows = _rows(user, z, x, y).subquery("candidates")
    # json_to_recordset needs its column types declared: `AS grades(unit_key text, grade text)`
    graded = (
        text("SELECT g.unit_key, g.grade FROM json_to_recordset(CAST(:grades AS json)) AS g(unit_key text, grade text)")
        .columns(literal_column("unit_key", String), literal_column("grade", String))
        .subquery("grades")
    )
    envelope = gis.ST_TileEnvelope(z, x, y)
    projected = gis.ST_Transform(gis.ST_SetSRID(gis.ST_GeomFromGeoJSON(rows.c.geometry), 4326), 3857)
    keys = (rows.c["class"], rows.c.listed, rows.c.town_code, graded.c.grade)
    if z <= tiles.OVERVIEW_MAX_ZOOM:
        # one feature per (class, listed, town, grade): the segments' lines collected and merged
        # (ST_CollectionExtract flattens the collection of lines and multilines into one multiline)
        merged = gis.ST_LineMerge(gis.ST_CollectionExtract(gis.ST_Collect(projected), 2))
        tolerance = tiles.simplify_for(z)
        if tolerance:  # in metres of EPSG:3857, as many as `tolerance` tile units
            merged = gis.ST_Simplify(merged, tolerance * tiles.tile_width_m(z) / extent)
        features = (
            select(*keys, gis.ST_AsMVTGeom(merged, envelope, extent, buffer, True).label("geom"))
            .select_from(rows)
            .outerjoin(graded, graded.c.unit_key == rows.c.unit_key)
            .group_by(*keys)
            .subquery("features")
        )
        aggregate = gis.ST_AsMVT(literal_column("features"), LAYER, extent, "geom")
    else:
        features = (
            select(rows.c.id, *keys, gis.ST_AsMVTGeom(projected, envelope, extent, buffer, True).label("geom"))
            .select_from(rows)
            .outerjoin(graded, graded.c.unit_key == rows.c.unit_key)
            .subquery("features")
        )
        aggregate = gis.ST_AsMVT(literal_column("features"), LAYER, extent, "geom", "id")
    # ST_AsMVT skips rows whose geometry clipped to nothing (NULL): no second pass to filter them
    statement = select(aggregate).select_from(features)
    # PostGIS functions carry high planner costs, which switch on JIT compilation: 1–2 s of
    # compiling for a query that runs in tens of milliseconds
    db.session.execute(text("SET LOCAL jit = off"))
    body = db.session.scalar(statement, {"grades": json.dumps(_grade_records(), ensure_ascii=False)})
    return bytes(body or b"")


def _grade_records() -> list[dict[str, str]]:
    return [{"unit_key": key, "grade": grade} for key, grade in _grades().items()]


# ---------------------------------------------------------------------------------- Python


def _python_tile(user, z: int, x: int, y: int) -> bytes:
    import mapbox_vector_tile
    import numpy as np
    import shapely

    found = db.session.execute(_rows(user, z, x, y)).all()
    if not found:
        return b""
    extent, buffer = tiles.extent_for(z), tiles.buffer_for(z)
    geometries = shapely.from_geojson([row.geometry for row in found])

    def to_units(coords):
        ux, uy = tiles.lonlat_to_tile_units(coords[:, 0], coords[:, 1], z, x, y, extent)
        return np.column_stack([ux, uy])

    grades = _grades()

    def on_grid(geometries, tolerance: float = 0):
        """As ST_AsMVTGeom: into tile units, clipped to the buffer, (simplified,) snapped to the
        grid — repeated points go, lines shorter than a unit vanish."""
        geometries = shapely.transform(geometries, to_units)
        geometries = shapely.clip_by_rect(geometries, -buffer, -buffer, extent + buffer, extent + buffer)
        if tolerance:
            geometries = shapely.simplify(geometries, tolerance, preserve_topology=False)
        return shapely.set_precision(geometries, 1.0)

    def drawn(geometry) -> bool:
        return geometry is not None and not geometry.is_empty and geometry.length > 0

    features = []
    if z <= tiles.OVERVIEW_MAX_ZOOM:
        # merged before snapping, as the SQL merges then cuts: a road's segments stay one line
        groups: dict[tuple, list] = {}
        for row, geometry in zip(found, geometries, strict=True):
            grade = grades.get(row.unit_key) if row.unit_key else None
            groups.setdefault((row[1], bool(row.listed), row.town_code, grade), []).append(geometry)
        keys = list(groups)
        merged = [shapely.line_merge(shapely.multilinestrings(shapely.get_parts(groups[key]))) for key in keys]
        for key, geometry in zip(keys, on_grid(merged, tiles.simplify_for(z)), strict=True):
            if drawn(geometry):
                features.append({"geometry": geometry, "properties": _properties(*key)})
    else:
        for row, geometry in zip(found, on_grid(geometries), strict=True):
            if drawn(geometry):
                grade = grades.get(row.unit_key) if row.unit_key else None
                properties = _properties(row[1], row.listed, row.town_code, grade)
                features.append({"geometry": geometry, "properties": properties, "id": row.id})
    if not features:
        return b""
    return mapbox_vector_tile.encode(
        [{"name": LAYER, "features": features}],
        default_options={"extents": extent, "y_coord_down": True, "quantize_bounds": None},
    )


def _properties(road_class: str, listed: bool, town_code: str, grade: str | None) -> dict:
    properties = {"class": road_class, "listed": bool(listed), "town_code": town_code}
    if grade:
        properties["grade"] = grade
    return properties
