"""Reading, checking and writing import files (road layers, road assets), one step per module.

- ``layers``     — reading a layer file: GeoJSON, Shapefile (.shp, .zip), GeoPackage; encodings; CRS → lon/lat;
- ``columns``    — the road layer's fields and their accepted column names, mapping files;
- ``cells``      — pure parsing of cell values (text, 列养里程, 桩号, width, 是否列养);
- ``geometry``   — pure shapely work on a road line: tidy, merge, map bands, measured length;
- ``results``    — RowError, ImportFailed, LengthWarning, ImportReport and progress ticks;
- ``register``   — the register as it stands, loaded once per import;
- ``validation`` — road rows read and checked, alone and across rows;
- ``writing``    — villages, roads, segments and the 列养里程 version written.

The use cases are ``roadchief.services.road_import.import_roads`` and
``roadchief.services.assets.import_assets``.
"""
