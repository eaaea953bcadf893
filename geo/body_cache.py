"""Response bodies kept in PostgreSQL for every API process (migration 0018).

An unlogged table (not written to the WAL, emptied after a crash: a cache, not data) of bodies
by their ETag, which names the version of what they show: a body is never out of date, only
no longer asked for. Every process behind a balancer, and a process after a restart, serves a
body another made. Bodies of earlier days (tags carry the date) and, past the size given, the
oldest go at the next prune.
"""

from __future__ import annotations

from geo.sql import Query


def kept(key: str) -> Query:
    return Query("SELECT body FROM body_cache WHERE key = %(key)s", {"key": key})


def keep(key: str, body: bytes) -> Query:
    return Query(
        "INSERT INTO body_cache (key, body) VALUES (%(key)s, %(body)s) "
        "ON CONFLICT (key) DO NOTHING RETURNING true",
        {"key": key, "body": body},
    )


PRUNE = """
    WITH gone AS (
        DELETE FROM body_cache WHERE kept_at < current_date OR key IN (
            SELECT key FROM body_cache ORDER BY kept_at
            LIMIT CASE WHEN pg_table_size('body_cache') > %(max_bytes)s
                       THEN (SELECT count(*) / 4 FROM body_cache) ELSE 0 END)
        RETURNING true)
    SELECT count(*) FROM gone"""


def prune(max_bytes: int) -> Query:
    """Bodies of earlier days, and the oldest quarter when the table is over ``max_bytes``:
    how many went."""
    return Query(PRUNE, {"max_bytes": max_bytes})
