-- Every staged geometry checked at once by the write API's rules (geo.geometry_input):
-- read in its CRS, not empty, an allowed type, not of zero length, in EPSG:4326, valid, of a
-- sane size, within the city and its margin (or said to be swapped); each row's first
-- problem in ``problem``, its district in ``district``. A row without geometry is refused, or
-- with ``unmapped`` kept as a draft without a place.
UPDATE import_rows SET problem = CASE WHEN %(unmapped)s THEN NULL
                                      ELSE 'The row has no geometry.' END,
                       published = published AND NOT %(unmapped)s
WHERE source IS NULL;
UPDATE import_rows SET source = ST_FlipCoordinates(source), swapped = true
WHERE %(swap)s AND source IS NOT NULL;
-- One pass over the rows: each read, put in EPSG:4326, and checked in the write API's order
UPDATE import_rows r SET geom = t.g, problem = CASE
        WHEN ST_IsEmpty(r.source) THEN 'The geometry is empty: it has no coordinates.'
        WHEN NOT GeometryType(r.source) = ANY(%(types)s) THEN
            'A project''s geometry cannot be a ' || GeometryType(r.source) || '; give one of '
            || array_to_string(%(types)s, ', ') || '.'
        WHEN ST_Dimension(r.source) = 1 AND ST_Length(r.source) = 0 THEN
            'The line has zero length: all its points are at one place.'
        WHEN NOT (ST_XMin(t.g) >= -180 AND ST_XMax(t.g) <= 180 AND ST_YMin(t.g) >= -90
                  AND ST_YMax(t.g) <= 90) THEN
            'The geometry is no position on Earth in its CRS (EPSG:' || r.srid || ')'
            || CASE WHEN r.srid = 4326 THEN '; are longitude and latitude swapped?' ELSE '.' END
        WHEN NOT ST_IsValid(t.g) THEN
            'The geometry is not valid: ' || (ST_IsValidDetail(t.g)).reason
            || coalesce(' at lon ' || round(ST_X((ST_IsValidDetail(t.g)).location)::numeric, 6)
                        || ', lat ' || round(ST_Y((ST_IsValidDetail(t.g)).location)::numeric, 6),
                        '')
            || '; correct it in the file.'
        WHEN ST_Dimension(t.g) = 1 AND ST_Length(t.g::geography) > %(max_length)s THEN
            'The line is ' || round((ST_Length(t.g::geography) / 1000)::numeric, 1)
            || ' km long; a project''s line may be at most '
            || trim_scale(%(max_length)s::numeric / 1000) || ' km.'
        WHEN ST_Dimension(t.g) = 2 AND ST_Area(t.g::geography) > %(max_area)s THEN
            'The area is ' || round((ST_Area(t.g::geography) / 1e6)::numeric, 1)
            || ' km²; a project may cover at most '
            || trim_scale(%(max_area)s::numeric / 1e6) || ' km².'
    END
FROM (SELECT row, CASE srid WHEN 4326 THEN ST_SetSRID(source, 4326)
                            ELSE ST_Transform(ST_SetSRID(source, srid), 4326) END AS g
      FROM import_rows WHERE problem IS NULL AND source IS NOT NULL) t
WHERE r.row = t.row;
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
-- The district: the one district whose pieces (districts cut small, indexed) the geometry
-- meets, else the one holding most of it (geo.jurisdiction.district_of), for those across a
-- border.
CREATE TEMP TABLE import_pieces ON COMMIT DROP AS
    SELECT code, ST_Subdivide(geom, 64) AS geom FROM districts WHERE level = 1;
CREATE INDEX ON import_pieces USING gist (geom);
ANALYZE import_pieces;
UPDATE import_rows r SET district = coalesce((
        SELECT min(pc.code) FROM import_pieces pc WHERE ST_Intersects(pc.geom, r.geom)
        HAVING count(DISTINCT pc.code) = 1), {district})
WHERE r.problem IS NULL AND r.geom IS NOT NULL;
