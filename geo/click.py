"""The click query: every published project within reach of a point, nearest first."""

from __future__ import annotations

import math

from geo.disclosure import FROM_PROJECTS, SUMMARY, feature
from geo.earth import METRES_PER_DEGREE
from geo.sql import Query

DEFAULT_RADIUS_M = 25.0  # a fingertip at street zoom on a phone
FINGER_PX = 22  # half a fingertip, in CSS pixels
MAX_RESULTS = 50


def radius_for_zoom(zoom: float, lat: float) -> float:
    """Ground metres under ``FINGER_PX`` screen pixels at a web-map zoom level."""
    metres_per_pixel = 156_543.03392 * math.cos(math.radians(lat)) / 2**zoom
    return FINGER_PX * metres_per_pixel


PROPERTIES = f"({SUMMARY}::jsonb || jsonb_build_object('distance_m', round(hit.d::numeric, 1)))"
AT = """
    WITH here AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS pt),
    hit AS (
        SELECT p.id, ST_Distance(p.geom::geography, here.pt::geography) AS d
        FROM projects p, here
        WHERE p.published
          AND p.geom && ST_Expand(here.pt, %(dlon)s, %(dlat)s)
          AND ST_DWithin(p.geom::geography, here.pt::geography, %(radius)s)
        ORDER BY d, p.id
        LIMIT {max_results}
    )
    SELECT json_build_object(
        'type', 'FeatureCollection',
        'features', coalesce(json_agg({feature} ORDER BY hit.d, hit.id),
                             '[]'::json)
    )::text
    FROM hit JOIN {projects} ON p.id = hit.id"""


def projects_at(lon: float, lat: float, radius_m: float) -> Query:
    """A GeoJSON FeatureCollection (text) of the projects within ``radius_m`` of (lon, lat).

    The box test (``&&`` with ST_Expand in degrees) uses the spatial index; the exact test and
    the ordering use geodesic metres.
    """
    dlat = radius_m / METRES_PER_DEGREE
    dlon = radius_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    return Query.compose(
        AT,
        {"lon": lon, "lat": lat, "dlon": dlon, "dlat": dlat, "radius": radius_m},
        max_results=str(MAX_RESULTS),
        feature=feature(PROPERTIES + "::json"),
        projects=FROM_PROJECTS,
    )
