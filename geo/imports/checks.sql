-- Every staged geometry checked at once by the write API's rules (geo.geometry_input):
-- read in its CRS, not empty, an allowed type, not of zero length, in EPSG:4326, valid,
-- within the city and its margin (or said to be swapped), of a sane size; each row's first
-- problem in ``problem``, its district in ``district``. A row without geometry is refused, or
-- with ``unmapped`` kept as a draft without a place.
UPDATE import_rows SET problem = CASE WHEN %(unmapped)s THEN NULL
                                      ELSE 'The row has no geometry.' END,
                       published = published AND NOT %(unmapped)s
WHERE source IS NULL;
UPDATE import_rows SET source = ST_FlipCoordinates(source), swapped = true
WHERE %(swap)s AND source IS NOT NULL;
UPDATE import_rows SET problem = CASE
        WHEN ST_IsEmpty(source) THEN 'The geometry is empty: it has no coordinates.'
        WHEN NOT GeometryType(source) = ANY(%(types)s) THEN
            'A project''s geometry cannot be a ' || GeometryType(source) || '; give one of '
            || array_to_string(%(types)s, ', ') || '.'
        WHEN ST_Dimension(source) = 1 AND ST_Length(source) = 0 THEN
            'The line has zero length: all its points are at one place.'
    END
WHERE problem IS NULL;
UPDATE import_rows SET geom = CASE srid WHEN 4326 THEN ST_SetSRID(source, 4326)
                                   ELSE ST_Transform(ST_SetSRID(source, srid), 4326) END
WHERE problem IS NULL;
UPDATE import_rows SET problem = CASE
        WHEN NOT (ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90
                  AND ST_YMax(geom) <= 90) THEN
            'The geometry is no position on Earth in its CRS (EPSG:' || srid || ')'
            || CASE WHEN srid = 4326 THEN '; are longitude and latitude swapped?' ELSE '.' END
        WHEN NOT ST_IsValid(geom) THEN
            'The geometry is not valid: ' || ST_IsValidReason(geom) || '.'
    END
WHERE problem IS NULL;
WITH city AS (
    SELECT ST_Buffer(ST_Union(geom)::geography, %(margin)s)::geometry AS area
    FROM districts WHERE level = 1)
UPDATE import_rows r SET problem = CASE
        WHEN ST_CoveredBy(ST_FlipCoordinates(ST_Transform(ST_SetSRID(r.source, r.srid), 4326)),
                          city.area)
        THEN 'The geometry lies outside the city but inside it with its axes swapped: longitude '
             'and latitude (or x and y) appear to be given in the wrong order.'
        ELSE 'The geometry lies outside the city, farther than ' || %(margin)s
             || ' m beyond its districts (at lon ' || round(ST_X(ST_PointOnSurface(r.geom))::numeric, 6)
             || ', lat ' || round(ST_Y(ST_PointOnSurface(r.geom))::numeric, 6) || ').'
    END
FROM city
WHERE r.problem IS NULL AND NOT ST_Covers(city.area, r.geom);  -- the area prepared once
UPDATE import_rows SET problem = CASE
        WHEN ST_Dimension(geom) = 1 AND ST_Length(geom::geography) > %(max_length)s THEN
            'The line is ' || round((ST_Length(geom::geography) / 1000)::numeric, 1)
            || ' km long; a project''s line may be at most ' || %(max_length)s / 1000 || ' km.'
        WHEN ST_Dimension(geom) = 2 AND ST_Area(geom::geography) > %(max_area)s THEN
            'The area is ' || round((ST_Area(geom::geography) / 1e6)::numeric, 1)
            || ' km²; a project may cover at most ' || %(max_area)s / 1e6 || ' km².'
    END
WHERE problem IS NULL;
-- The district: the one whose piece (districts cut small, indexed) covers the whole geometry,
-- else the one holding most of it (geo.jurisdiction.district_of), for the few across a border.
CREATE TEMP TABLE import_pieces ON COMMIT DROP AS
    SELECT code, ST_Subdivide(geom, 64) AS geom FROM districts WHERE level = 1;
CREATE INDEX ON import_pieces USING gist (geom);
ANALYZE import_pieces;
UPDATE import_rows r SET district = (
        SELECT pc.code FROM import_pieces pc WHERE ST_Covers(pc.geom, r.geom)
        ORDER BY pc.code LIMIT 1)
WHERE r.problem IS NULL AND r.geom IS NOT NULL;
UPDATE import_rows r SET district = {district}
WHERE r.problem IS NULL AND r.geom IS NOT NULL AND r.district IS NULL;
