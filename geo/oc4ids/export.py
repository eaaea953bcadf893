"""Published projects as OC4IDS project objects, built by PostGIS one row per project, so that a
package of any size is streamed (``api.oc4ids``): ``package_head`` is the package without its
projects, ``projects`` the projects, ordered by id, each as JSON text.

No field is written empty: values that may be missing are left NULL and stripped
(``json_strip_nulls``), and an object or list is built only when it will hold something.
"""

from __future__ import annotations

import json

from geo.changelog import REVISED
from geo.oc4ids import PROJECT_ID, VERSION
from geo.oc4ids.codes import (
    AUTHORITY,
    CONSTRUCTION,
    CONTRACT_STATUS,
    CURRENT,
    DURATION,
    FINANCIAL,
    PAYER,
    PERCENT,
    PHYSICAL,
    PROJECT_STATUS,
    PROJECT_TYPE,
    SUPERVISION,
    SUPPLIER,
    VALUE,
    codelist,
)
from geo.sql import Query

# A date as OC4IDS writes dates (date-time): the day's start; an instant in UTC
DAY = """to_char({}, 'YYYY-MM-DD"T00:00:00Z"')"""
INSTANT = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _day(column: str) -> str:
    return DAY.format(column)


def _value(amount: str) -> str:
    """An amount of the project's currency (a Value), NULL when the amount is."""
    return (
        f"CASE WHEN ({amount}) IS NOT NULL THEN json_build_object("
        f"'amount', trim_scale({amount}), 'currency', p.currency) END"
    )


def _period(start: str, end: str) -> str:
    return (
        f"CASE WHEN ({start}) IS NOT NULL OR ({end}) IS NOT NULL THEN json_build_object("
        f"'startDate', {_day(start)}, 'endDate', {_day(end)}) END"
    )


def _org(name: str) -> str:
    """The party id of a company known by its name alone: the same name, the same id."""
    return f"'org-' || left(encode(sha256(convert_to({name}, 'UTF8')), 'hex'), 12)"


def _observed(figure: str, fields: str) -> str:
    """The observations of one progress figure (a column of ``history``'s rows, named
    ``{x}`` in ``fields``): one per report, dated, and the project's own figure (id
    ``current``) where it is not its last report's (none before the first report but a
    figure other than zero)."""
    notes = ", 'notes', nullif(x.note, '')" if figure == "actual" else ""
    return f"""json_agg(json_build_object(
            'id', CASE WHEN x.now THEN %(current)s ELSE to_char(x.day, 'YYYY-MM-DD') END,
            'period', CASE WHEN NOT x.now THEN {_period("x.day", "x.day")} END,
            {fields.replace("{x}", f"x.{figure}")}{notes}
        ) ORDER BY x.day) FILTER (WHERE NOT x.now OR x.{figure} <> coalesce(x.was_{figure}, 0))"""


AUTHORITY_REF = "json_build_object('id', a.code, 'name', names.agency)"


def _change(field: str, side: int, kind: str) -> str:
    """The value of ``field`` before (``side`` 0) or after (1) the change ``e.f``, as ``kind``."""
    return f"(e.f -> '{field}' ->> {side})::{kind}"


OLD_PERIOD = _period(_change("planned_start", 0, "date"), _change("planned_end", 0, "date"))
NEW_PERIOD = _period(_change("planned_start", 1, "date"), _change("planned_end", 1, "date"))
# The project's cost and schedule changes: edit entries of the change log naming money or
# dates, numbered in order; an entry of both is a modification of each type. An entry an
# import replayed from a package names the date the package gave (``recorded_at``).
MODIFICATIONS = f"""
    SELECT json_agg(m.modification ORDER BY m.n, m.k) AS list,
           (array_agg(m.f -> 'contract_value' ORDER BY m.n)
                FILTER (WHERE m.f ? 'contract_value'))[1] AS first_value,
           (array_agg(m.f -> 'planned_start' ORDER BY m.n)
                FILTER (WHERE m.f ? 'planned_start'))[1] AS first_start,
           (array_agg(m.f -> 'planned_end' ORDER BY m.n)
                FILTER (WHERE m.f ? 'planned_end'))[1] AS first_end
    FROM (
        SELECT e.n, e.f, k.k, json_build_object(
            'id', e.n || '-' || k.kind,
            'date', coalesce(e.f -> 'recorded_at' ->> 1, {INSTANT.format("e.at")}),
            'type', k.kind,
            'rationale', nullif(e.reason, ''),
            'oldContractValue', CASE WHEN k.kind = %(value)s
                THEN {_value(_change("contract_value", 0, "numeric"))} END,
            'newContractValue', CASE WHEN k.kind = %(value)s
                THEN {_value(_change("contract_value", 1, "numeric"))} END,
            'oldContractPeriod', CASE WHEN k.kind = %(duration)s THEN {OLD_PERIOD} END,
            'newContractPeriod', CASE WHEN k.kind = %(duration)s THEN {NEW_PERIOD} END,
            'allimi', CASE WHEN k.kind = %(value)s AND e.f ? 'budget' THEN json_build_object(
                'oldBudget', {_value(_change("budget", 0, "numeric"))},
                'newBudget', {_value(_change("budget", 1, "numeric"))}) END
        ) AS modification
        FROM (SELECT row_number() OVER (ORDER BY c.seq) AS n, c.at,
                     c.content::jsonb -> 'fields' AS f, c.content::jsonb ->> 'reason' AS reason
              FROM changes c
              WHERE c.project_code = p.code AND c.action = 'edit'
                AND (c.content::jsonb -> 'fields') ?| %(revised)s) e
        JOIN (VALUES (1, %(value)s, ARRAY['budget', 'contract_value']),
                     (2, %(duration)s, ARRAY['planned_start', 'planned_end'])) k(k, kind, fields)
          ON e.f ?| k.fields
    ) m
"""  # noqa: S608 - constant SQL of this module
MEASURE = "'measure', trim_scale({x}), 'unit', %(percent)s::json"
# The progress history in one pass over the project's reports, and its figures as they are
# now after them (``now``): the observations of each figure, and the payments, each rise of
# the money spent from one report to the next
HISTORY = f"""
    SELECT {_observed("actual", MEASURE)} AS actual,
           {_observed("planned", MEASURE)} AS planned,
           {_observed("spent", "'value', " + _value("{x}"))} AS spent,
           json_agg(json_build_object(
               'id', to_char(x.day, 'YYYY-MM-DD'), 'date', {_day("x.day")},
               'value', {_value("x.spent - coalesce(x.was_spent, 0)")},
               'payer', {AUTHORITY_REF}) ORDER BY x.day)
               FILTER (WHERE NOT x.now AND x.spent > coalesce(x.was_spent, 0)) AS payments
    FROM (SELECT u.*, lag(u.actual) OVER w AS was_actual, lag(u.planned) OVER w AS was_planned,
                 lag(u.spent) OVER w AS was_spent
          FROM (SELECT r.reported_on AS day, r.actual, r.planned, r.spent_to_date AS spent,
                       r.note, false AS now
                FROM progress_reports r WHERE r.project_id = p.id
                UNION ALL
                SELECT 'infinity', p.progress_actual, p.progress_planned, p.spent, NULL, true) u
          WINDOW w AS (ORDER BY u.day)) x
"""  # noqa: S608 - constant SQL of this module
# The contract as first known: the standard records each change as a modification
FIRST_VALUE = _value(
    "coalesce((mods.first_value ->> 0)::numeric, (mods.first_value ->> 1)::numeric, "
    "p.contract_value)"
)
FIRST_PERIOD = _period(
    "coalesce((mods.first_start ->> 0)::date, p.planned_start)",
    "coalesce((mods.first_end ->> 0)::date, p.planned_end)",
)
CONSTRUCTION_PROCESS = f"""
    CASE WHEN names.contractor IS NOT NULL OR p.contract_value IS NOT NULL
              OR mods.list IS NOT NULL THEN json_build_object(
        'id', %(construction)s,
        'summary', json_build_object(
            'nature', json_build_array(%(construction)s),
            'status', %(contract_status)s::json ->> p.status,
            'suppliers', CASE WHEN names.contractor IS NOT NULL THEN json_build_array(
                json_build_object('id', {_org("names.contractor")}, 'name', names.contractor)) END,
            'contractValue', {FIRST_VALUE},
            'contractPeriod', {FIRST_PERIOD},
            'modifications', mods.list)) END
"""
SUPERVISION_PROCESS = f"""
    CASE WHEN names.supervisor IS NOT NULL THEN json_build_object(
        'id', %(supervision)s,
        'summary', json_build_object(
            'nature', json_build_array(%(supervision)s),
            'status', %(contract_status)s::json ->> p.status,
            'suppliers', json_build_array(
                json_build_object('id', {_org("names.supervisor")}, 'name', names.supervisor)))) END
"""
PARTIES = f"""(SELECT json_agg(x.party ORDER BY x.n) FROM (VALUES
    (1, json_build_object(
        'id', a.code, 'name', names.agency,
        'identifier', json_build_object('id', a.code, 'legalName', names.agency),
        'roles', CASE WHEN history.payments IS NULL THEN %(authority)s::json
                      ELSE %(authority_payer)s::json END,
        'contactPoint', CASE WHEN names.officer IS NOT NULL OR names.phone IS NOT NULL
                        THEN json_build_object('name', names.officer,
                                               'telephone', names.phone) END)),
    (2, CASE WHEN names.contractor IS NOT NULL THEN json_build_object(
        'id', {_org("names.contractor")}, 'name', names.contractor,
        'identifier', json_build_object('legalName', names.contractor),
        'roles', json_build_array(%(supplier)s)) END),
    (3, CASE WHEN names.supervisor IS NOT NULL
              AND names.supervisor IS DISTINCT FROM names.contractor THEN json_build_object(
        'id', {_org("names.supervisor")}, 'name', names.supervisor,
        'identifier', json_build_object('legalName', names.supervisor),
        'roles', json_build_array(%(supplier)s)) END)
    ) x(n, party) WHERE x.party IS NOT NULL)"""  # noqa: S608 - constant SQL of this module
DOCUMENTS = f"""(SELECT json_agg(json_build_object(
        'id', doc.n::text,
        'documentType', CASE WHEN doc.document_type = ANY(%(document_types)s)
                        THEN doc.document_type END,
        'title', nullif(doc.title, ''),
        'url', CASE WHEN doc.url ~ '^[A-Za-z][A-Za-z0-9+.-]*:' THEN doc.url
                    ELSE nullif(%(base)s || doc.url, '') END,
        'datePublished', {_day("doc.published_on")},
        'format', nullif(doc.media_type, '')) ORDER BY doc.n)
    FROM (SELECT d.*, row_number() OVER (ORDER BY d.published_on, d.id) AS n
          FROM documents d WHERE d.project_id = p.id) doc)"""  # noqa: S608 - constant SQL
PROJECTS = f"""
    SELECT json_strip_nulls(json_build_object(
        'id', CASE WHEN p.source_key ~ %(project_id)s THEN p.source_key
                   ELSE %(prefix)s || '-' || p.code END,
        'updated', {INSTANT.format("p.updated_at")},
        'language', j.languages[1],
        'title', p.title,
        'description', nullif(p.description, ''),
        'status', %(statuses)s::json ->> p.status,
        'type', %(types)s::json ->> p.project_type,
        -- a subsector with its sector before it, as the standard asks
        'sector', (SELECT json_agg(s.code ORDER BY s.n)
                   FROM unnest(CASE WHEN strpos(cat.oc4ids, '.') > 0
                                    THEN ARRAY[split_part(cat.oc4ids, '.', 1), cat.oc4ids]
                                    ELSE ARRAY[cat.oc4ids] END) WITH ORDINALITY s(code, n)
                   WHERE s.code = ANY(%(sectors)s)),
        'publicAuthority', {AUTHORITY_REF},
        'period', {_period("p.planned_start", "p.planned_end")},
        'implementationPeriod', CASE WHEN p.actual_start IS NOT NULL
                                THEN {_period("p.actual_start", "p.actual_end")} END,
        'budget', json_build_object('amount', {_value("p.budget")}),
        'locations', json_build_array(json_build_object(
            'id', '1',
            'geometry', ST_AsGeoJSON(p.geom, 7)::json,
            'address', CASE WHEN names.address IS NOT NULL OR names.district IS NOT NULL
                       THEN json_build_object('streetAddress', names.address,
                                              'region', names.district) END)),
        'parties', {PARTIES},
        'contractingProcesses', (SELECT json_agg(x.process ORDER BY x.n) FROM (VALUES
            (1, {CONSTRUCTION_PROCESS}), (2, {SUPERVISION_PROCESS})) x(n, process)
            WHERE x.process IS NOT NULL),
        'metrics', (SELECT json_agg(json_build_object('id', x.id, 'observations', x.o)
                                    ORDER BY x.n)
                    FROM (VALUES (1, %(physical)s, history.actual),
                                 (2, %(financial)s, history.spent)) x(n, id, o)
                    WHERE x.o IS NOT NULL),
        'forecasts', CASE WHEN history.planned IS NOT NULL THEN json_build_array(
            json_build_object('id', %(physical)s, 'observations', history.planned)) END,
        'transactions', history.payments,
        'documents', {DOCUMENTS},
        'completion', CASE WHEN p.actual_end IS NOT NULL
                                OR p.status IN ('completion', 'maintenance')
                      THEN json_build_object('endDate', {_day("p.actual_end")},
                                             'finalValue', {_value("p.spent")}) END,
        'allimi', json_build_object('category', p.category, 'status', p.status,
                                    'sample', CASE WHEN p.is_sample THEN true END)
    ))::text AS project
    FROM projects p
    JOIN agencies a ON a.code = p.agency_code
    JOIN categories cat ON cat.code = p.category
    LEFT JOIN districts d ON d.code = p.district_code
    CROSS JOIN jurisdiction j
    CROSS JOIN LATERAL (SELECT
        coalesce(nullif(a.name ->> j.languages[1], ''), a.code) AS agency,
        nullif(d.name ->> j.languages[1], '') AS district,
        nullif(p.address, '') AS address,
        nullif(p.contractor, '') AS contractor, nullif(p.supervisor, '') AS supervisor,
        nullif(p.officer_name, '') AS officer, nullif(p.officer_phone, '') AS phone) names
    CROSS JOIN LATERAL ({HISTORY}) history
    LEFT JOIN LATERAL ({MODIFICATIONS}) mods ON true
    WHERE p.published AND p.withdrawn_at IS NULL {{where}}
    ORDER BY p.id
"""  # noqa: S608 - constant SQL of this module


def projects(prefix: str, base: str, code: str | None = None) -> Query:
    """Every published project that is not withdrawn (or the one of ``code``), one row each,
    its OC4IDS object as JSON text in column ``project``; ids begin with ``prefix``, and
    relative document URLs with ``base`` (the portal's public URL, or nothing)."""
    where = Query("AND p.code = %(code)s", {"code": code}) if code is not None else Query("")
    return Query.compose(
        PROJECTS,
        {
            "prefix": prefix,
            "project_id": PROJECT_ID,
            "base": base,
            "current": CURRENT,
            "percent": json.dumps(PERCENT),
            "statuses": json.dumps(PROJECT_STATUS),
            "types": json.dumps(PROJECT_TYPE),
            "contract_status": json.dumps(CONTRACT_STATUS),
            "sectors": sorted(codelist("projectSector")),
            "document_types": sorted(codelist("documentType")),
            "revised": list(REVISED),
            "value": VALUE,
            "duration": DURATION,
            "construction": CONSTRUCTION,
            "supervision": SUPERVISION,
            "physical": PHYSICAL,
            "financial": FINANCIAL,
            "supplier": SUPPLIER,
            "authority": json.dumps(AUTHORITY),
            "authority_payer": json.dumps([*AUTHORITY, PAYER]),
        },
        where=where,
    )


def package_head(uri: str, base: str) -> Query:
    """The package as JSON text without its projects: its ``uri``, the schema's version, the
    city as publisher (with the portal's ``base`` URL, if any) and its data's licence, and, as
    the standard asks of a package made on demand, the time its data last changed. No row
    before a city is set up."""
    return Query(
        f"""
        SELECT json_build_object(
            'uri', %(uri)s,
            'version', %(version)s,
            'publishedDate', {INSTANT.format("v.changed_at")},
            'publisher', json_strip_nulls(json_build_object(
                'name', coalesce(nullif(j.name ->> j.languages[1], ''), j.code_prefix),
                'uri', nullif(%(base)s, ''))),
            'license', j.licence ->> 'url'
        )::text
        FROM jurisdiction j CROSS JOIN data_version v
        """,  # noqa: S608 - constant SQL
        {"uri": uri, "version": VERSION, "base": base},
    )
