"""What Allimi discloses about a project, assembled as GeoJSON by PostGIS itself.

``SUMMARY`` is what a list row or a map popup needs; ``project_feature`` is the full disclosure
of one project: contract, cost, progress and its history, schedule, documents, contacts, flags.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.changelog import REVISED
from geo.filters import ProjectFilter
from geo.flags import flags_json, photo_flags
from geo.sql import COUNT_UP_TO, Query, identifier

COORDINATE_DECIMALS = 6  # ~0.1 m
# Whether any published project is a synthetic sample (the portal then says so)
SHOWS_SAMPLE = Query("SELECT EXISTS (SELECT 1 FROM projects WHERE published AND is_sample)")

# Over ``projects p JOIN agencies a ON a.code = p.agency_code``.
FROM_PROJECTS = "projects p JOIN agencies a ON a.code = p.agency_code"

SUMMARY = f"""
    json_build_object(
        'code', p.code,
        'title', p.title,
        'category', p.category,
        'status', p.status,
        'agency', json_build_object('code', a.code, 'name', a.name),
        'contractor', p.contractor,
        'currency', p.currency,
        'budget', p.budget,
        'spent', p.spent,
        'progress_actual', p.progress_actual,
        'progress_planned', p.progress_planned,
        'planned_start', p.planned_start,
        'planned_end', p.planned_end,
        'district_code', p.district_code,
        'address', p.address,
        'is_sample', p.is_sample,
        'updated_at', p.updated_at,
        'flags', {flags_json()}
    )"""


def feature(properties: str) -> str:
    """SQL for one GeoJSON Feature of project ``p`` with the given properties object."""
    return (
        "json_build_object('type', 'Feature', 'id', p.code, "
        f"'geometry', ST_AsGeoJSON(p.geom, {COORDINATE_DECIMALS})::json, "
        f"'properties', {properties})"
    )


KINDS = ("text", "numeric", "date", "timestamptz")


def sorts(**declared: tuple[str, str]) -> dict[str, tuple[str, str]]:
    """Sort keys, each a column of ``projects`` and its SQL type (a cursor carries the last
    row's key as text); ValueError for a column that is not a plain identifier or another
    type."""
    for column, kind in declared.values():
        identifier(column)
        if kind not in KINDS:
            raise ValueError(f"{kind!r} is not a sort type; known: {', '.join(KINDS)}")
    return declared


SORTS = sorts(
    code=("code", "text"),
    title=("title", "text"),
    budget=("budget", "numeric"),
    spent=("spent", "numeric"),
    progress=("progress_actual", "numeric"),
    start=("planned_start", "date"),
    end=("planned_end", "date"),
    updated=("updated_at", "timestamptz"),
)


@dataclass(frozen=True)
class After:
    """Where a keyset page starts: after the row with this sort key (as text) and id."""

    key: str
    id: int


# One row more than the page, to know whether another follows.
SEARCH = """
            WITH found AS (
                SELECT p.id, to_json(p.{column}) #>> '{{}}' AS key,
                       row_number() OVER (ORDER BY {order}) AS n
                FROM projects p WHERE {page}
                ORDER BY {order} LIMIT %(limit)s + 1 OFFSET %(offset)s),
            page AS (SELECT * FROM found ORDER BY n LIMIT %(limit)s)
            SELECT
                (SELECT nullif(count(*), %(count_up_to)s + 1) FROM (
                     SELECT FROM projects p WHERE {where} LIMIT %(count_up_to)s + 1) c),
                (SELECT coalesce(json_agg({feature} ORDER BY page.n), '[]'::json)::text
                 FROM page JOIN projects p ON p.id = page.id
                 JOIN agencies a ON a.code = p.agency_code),
                (SELECT count(*) FROM page),
                (SELECT count(*) > %(limit)s FROM found),
                (SELECT json_build_array(page.key, page.id)::text
                 FROM page ORDER BY page.n DESC LIMIT 1)
            """


def search(
    where: ProjectFilter,
    *,
    limit: int,
    offset: int = 0,
    sort: str = "code",
    after: After | None = None,
) -> Query:
    """One row: how many projects match (NULL past ``COUNT_UP_TO``), the page as a JSON array
    of Features, how many it holds, whether more follow, and the key of its last row (JSON
    ``[key, id]``) for the next page's ``after``.

    Rows are ordered by the sort column, then id, both the same way, so that an index of
    (column, id) reads a city's first page in either direction without sorting it; ``after``
    pages by keyset, which stays as cheap on the thousandth page as on the first, where
    ``offset`` would read every row before.
    """
    clause = where.where()
    column, kind = SORTS[sort.lstrip("-")]
    direction = "DESC" if sort.startswith("-") else "ASC"
    page = clause
    if after is not None:
        page += Query.compose(
            " AND (p.{column}, p.id) {beyond} (%(after_key)s::{kind}, %(after_id)s)",
            {"after_key": after.key, "after_id": after.id},
            column=column,
            beyond="<" if direction == "DESC" else ">",
            kind=kind,
        )
    return Query.compose(
        SEARCH,
        {"limit": limit, "offset": offset, "count_up_to": COUNT_UP_TO},
        column=column,
        order=f"p.{column} {direction}, p.id {direction}",
        page=page,
        where=clause,
        feature=feature(SUMMARY),
    )


STARTED = "coalesce(p.actual_start, p.planned_start)"


DETAIL = """
        ({summary}::jsonb || jsonb_build_object(
            'description', p.description,
            'project_type', p.project_type,
            'supervisor', p.supervisor,
            'officer', json_build_object('name', p.officer_name, 'phone', p.officer_phone),
            'agency_phone', a.phone,
            'contract_value', p.contract_value,
            'remaining', p.budget - p.spent,
            'actual_start', p.actual_start,
            'actual_end', p.actual_end,
            'days_elapsed', CASE WHEN {started} <= current_date
                THEN coalesce(p.actual_end, current_date) - {started} END,
            'days_remaining', CASE WHEN p.actual_end IS NULL THEN p.planned_end - current_date END,
            'district', json_build_object('code', d.code, 'name', d.name),
            'created_at', p.created_at,
            'baseline', (SELECT jsonb_object_agg(f.key, f.value -> 1)
                         FROM jsonb_each((SELECT c.content::jsonb -> 'fields' FROM changes c
                                          WHERE c.project_code = p.code
                                            AND c.action IN ('create', 'publish')
                                          ORDER BY c.seq LIMIT 1)) f
                         WHERE f.key = ANY(%(revisable)s)),
            'revisions', (SELECT coalesce(json_agg(json_build_object(
                              -- a change replayed from an imported package: its own date
                              'at', coalesce((c.content::jsonb -> 'fields' -> 'recorded_at'
                                              ->> 1)::timestamptz, c.at),
                              'reason', c.content::jsonb ->> 'reason',
                              'fields', (c.content::jsonb -> 'fields') - 'recorded_at'
                                        - 'imported_from') ORDER BY c.seq), '[]')
                          FROM changes c
                          WHERE c.project_code = p.code AND c.action = 'edit'
                            AND (c.content::jsonb -> 'fields') ?| %(revisable)s),
            -- the other works at this place within the dig-once window (geo.conflicts)
            'same_place', (
                SELECT coalesce(json_agg(json_build_object(
                    'code', o.code, 'title', o.title, 'category', o.category,
                    'status', o.status, 'kind', c.kind,
                    'distance_m', round(c.distance_m::numeric, 1),
                    'start', coalesce(o.actual_start, o.planned_start),
                    'end', coalesce(o.actual_end, o.planned_end)
                ) ORDER BY coalesce(o.actual_start, o.planned_start), o.code), '[]'::json)
                FROM conflicts c JOIN projects o
                  ON o.id = CASE WHEN c.a_id = p.id THEN c.b_id ELSE c.a_id END
                WHERE (c.a_id = p.id OR c.b_id = p.id) AND c.holds),
            'withdrawn_at', p.withdrawn_at,
            'withdrawn_reason', p.withdrawn_reason,
            -- the project's version (geo.project_writes.version_of): If-Match of an edit
            'version', p.id || '-' || (extract(epoch FROM p.updated_at) * 1000000)::bigint,
            'reports', (
                SELECT coalesce(json_agg(json_build_object(
                    'reported_on', r.reported_on, 'actual', r.actual, 'planned', r.planned,
                    'spent_to_date', r.spent_to_date, 'note', r.note
                ) ORDER BY r.reported_on), '[]'::json)
                FROM progress_reports r WHERE r.project_id = p.id),
            'documents', (
                SELECT coalesce(json_agg(json_build_object(
                    'title', doc.title, 'document_type', doc.document_type,
                    'url', doc.url,
                    'media_type', doc.media_type, 'published_on', doc.published_on,
                    -- a progress report's photo: its thumbnail, when it was taken, and why
                    -- it may not show the works (geo.reports)
                    'thumbnail_url', CASE WHEN doc.thumbnail_path IS NOT NULL
                                     THEN doc.url || '/thumbnail' END,
                    'taken_at', doc.taken_at, 'flag', doc.flag,
                    'photo_flags', CASE WHEN doc.flag IS NOT NULL
                                   THEN {photo_flags} END
                ) ORDER BY doc.published_on, doc.id), '[]'::json)
                FROM documents doc WHERE doc.project_id = p.id)
        ))::json"""
PROJECT = """
            SELECT {feature}::text
            FROM {projects} LEFT JOIN districts d ON d.code = p.district_code
            WHERE p.code = %(code)s AND p.published
            """


def project_feature(code: str) -> Query:
    """The full disclosure of one published project as a GeoJSON Feature (text); no row when
    no published project has ``code``."""
    detail = Query.compose(
        DETAIL, summary=SUMMARY, started=STARTED,
        photo_flags=photo_flags("doc.taken_position", "doc.taken_at"),
    ).sql  # fmt: skip
    return Query.compose(
        PROJECT,
        {"code": code, "revisable": list(REVISED)},
        feature=feature(detail),
        projects=FROM_PROJECTS,
    )
