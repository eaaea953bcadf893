"""Connecting to PostGIS: the server named by DATABASE_URL, or the embedded local one.

Two logins: the owner (DATABASE_URL's user, or the embedded superuser) migrates and loads; the
API reads as a member of the group role ``allimi_read``, which may read the published data only
(``disclosed`` views, migration 0003). See ``read_url``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from geo.errors import AllimiError
from geo.settings import Settings
from geo.store import provision

T = TypeVar("T")
READ_ROLE = "allimi_read"
WRITE_ROLE = "allimi_write"


def _normalise(url: str) -> str:
    """Accept the common ``postgres://`` and ``postgresql://`` spellings of DATABASE_URL."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def _where(url: str) -> str:
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"


def engine_for(url: str, **kwargs: object) -> Engine:
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5}, **kwargs)


@contextmanager
def _server(url: str) -> Iterator[Connection]:
    """An autocommit connection to the ``postgres`` database of ``url``'s server."""
    admin = engine_for(
        make_url(url).set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            yield conn
    finally:
        admin.dispose()


def create_database(url: str) -> None:
    """Create the database in ``url`` on its server when it does not exist yet."""
    name = make_url(url).database
    with _server(url) as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    with _server(url) as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _reachable(action: Callable[[str], T], url: str) -> T:
    """Run ``action(url)``, turning a connection failure into one clear sentence."""
    try:
        return action(url)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0]
        raise AllimiError(
            f"Cannot reach the database {_where(url)} ({reason}); check DATABASE_URL "
            "and that the server is running."
        ) from None


def check_postgis(url: str) -> str:
    """Reach the server and make sure PostGIS is enabled; returns the PostGIS version."""
    return _reachable(_enable_postgis, url)


def _enable_postgis(url: str) -> str:
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            try:
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
            except DBAPIError as exc:
                if "extension" not in str(exc.orig):
                    raise
                raise AllimiError(
                    f"The database {_where(url)} lacks PostGIS and it could not be enabled "
                    f"({str(exc.orig).strip().splitlines()[0]}); install PostGIS on that "
                    "server or have its administrator run CREATE EXTENSION postgis."
                ) from None
            return str(conn.execute(text("SELECT postgis_lib_version()")).scalar())
    finally:
        engine.dispose()


def database_url(settings: Settings, dbname: str | None = None) -> str:
    """The URL of the portal's database, starting the embedded PostGIS when there is no other.

    ``dbname`` (if given) replaces the database named by the settings, and is created when
    missing, on the embedded cluster or on the server of ``DATABASE_URL``.
    """
    if settings.database_url:
        url = _normalise(settings.database_url)
        if dbname:
            url = make_url(url).set(database=dbname).render_as_string(hide_password=False)
            _reachable(create_database, url)
        return url
    return _embedded(settings, dbname)[1]


def _embedded(settings: Settings, dbname: str | None) -> tuple[provision.Cluster, str]:
    """The started embedded cluster and the owner's URL of its database (created if missing)."""
    cluster = provision.start_local(settings)
    url = cluster.url(dbname or settings.db_name)
    create_database(url)
    return cluster, url


def prepare(settings: Settings, dbname: str | None = None) -> str:
    """Reachable, PostGIS-enabled database URL, ready for migrations."""
    url = database_url(settings, dbname)
    check_postgis(url)
    return url


def read_url(settings: Settings, dbname: str | None = None) -> str:
    """The URL the API reads published data with.

    ``ALLIMI_READ_DATABASE_URL`` when set; else, with ``DATABASE_URL``, its login acting as
    ``allimi_read`` for the whole session (``--role``: least privilege against the API's own
    mistakes, not against someone who can run SQL on it, who could ``RESET ROLE``); else the
    embedded server's own ``allimi_reader`` login, made when first needed.
    """
    return _api_url(settings, settings.read_database_url, provision.READER, dbname)


def write_url(settings: Settings, dbname: str | None = None) -> str:
    """The URL the API writes officials' changes with: as ``read_url``, for ``allimi_write``
    (``ALLIMI_WRITE_DATABASE_URL``, or ``DATABASE_URL`` acting as it, or ``allimi_writer``)."""
    return _api_url(settings, settings.write_database_url, provision.WRITER, dbname)


GROUPS = {provision.READER: READ_ROLE, provision.WRITER: WRITE_ROLE}


def _api_url(settings: Settings, explicit: str | None, login: str, dbname: str | None) -> str:
    if explicit:
        return _normalise(explicit)
    if settings.database_url:
        url = make_url(database_url(settings, dbname))
        acting = url.update_query_dict({"options": f"--role={GROUPS[login]}"})
        return acting.render_as_string(hide_password=False)
    cluster, _ = _embedded(settings, dbname)
    _ensure_login(cluster, login)
    return cluster.login_url(login, dbname or settings.db_name)


LOGIN_SQL = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{group}') THEN
        CREATE ROLE {group} NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{login}') THEN
        CREATE ROLE {login} LOGIN;
    END IF;
END $$;
ALTER ROLE {login} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
    NOBYPASSRLS PASSWORD %(password)s;
GRANT {group} TO {login};
"""


def _ensure_login(cluster: provision.Cluster, login: str) -> None:
    """Make one of the embedded server's API logins once; its password goes next to the
    superuser's.

    The group role is made here too when missing (migrations make it as well, for servers of
    DATABASE_URL), so the login can be made before any database is migrated.
    """
    password_file = cluster.login_password_file(login)
    if password_file.exists():
        return
    password = provision.new_password()
    sql = LOGIN_SQL.format(group=GROUPS[login], login=login)  # module constants only
    engine = engine_for(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql, {"password": password})
    finally:
        engine.dispose()
    provision.write_private(cluster, password_file, password)
