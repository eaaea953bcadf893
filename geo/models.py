"""The schema: projects with their geometry, money and progress, and what hangs off them.

Shaped after Seoul's Allimi disclosures and OC4IDS, so that export is a mapping. Migrations in
``geo/migrations`` create exactly this; ``tests/test_migrations.py`` checks that they agree.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from geoalchemy2 import Geometry
from sqlalchemy import (
    CHAR,
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from geo.accounts import ROLES
from geo.changelog import ACTIONS, UNATTACHED
from geo.conflicts import KINDS
from geo.conflicts import STATUSES as CONFLICT_STATUSES
from geo.imports import JOB_STATES
from geo.vocab import GEOMETRY_TYPES, PROJECT_TYPES, STATUSES, sql_list

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(18, 2)
Percent = Numeric(5, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


Translations = dict[str, str]  # language -> text, stored as JSONB


class Jurisdiction(Base):
    """The one city the database discloses (``geo.jurisdiction``)."""

    __tablename__ = "jurisdiction"

    singleton: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    name: Mapped[Translations] = mapped_column(JSONB)
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text))
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(Text)
    code_prefix: Mapped[str] = mapped_column(String(12))
    levels: Mapped[list[Translations]] = mapped_column(JSONB)
    attribution: Mapped[str] = mapped_column(Text, server_default="")
    demo_catalogue: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[dict] = mapped_column(
        JSONB,
        server_default=text(
            """'{"name": {"en": "CC BY 4.0"}, """
            """"url": "https://creativecommons.org/licenses/by/4.0/"}'::jsonb"""
        ),
    )

    __table_args__ = (
        CheckConstraint("singleton", name="singleton"),
        CheckConstraint("cardinality(languages) >= 1", name="languages"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint("code_prefix ~ '^[A-Z][A-Z0-9]*$'", name="code_prefix"),
    )


class District(Base):
    """An administrative area: a district (level 1) or a neighbourhood inside one (level 2)."""

    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[int] = mapped_column(Integer, Identity(), unique=True)
    name: Mapped[Translations] = mapped_column(JSONB)
    level: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)

    __table_args__ = (
        CheckConstraint("jsonb_typeof(name) = 'object'", name="name"),
        CheckConstraint("level IN (1, 2)", name="level"),
        CheckConstraint("(level = 1) = (parent_code IS NULL)", name="parent"),
        Index("ix_districts_geom", "geom", postgresql_using="gist"),
        Index("ix_districts_parent_code", "parent_code"),
    )


class Agency(Base):
    """A public body that implements projects; officials' accounts will belong to one."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[Translations] = mapped_column(JSONB)
    phone: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CheckConstraint("jsonb_typeof(name) = 'object'", name="name"),)


class Category(Base):
    """A category of works: built in (``geo.vocab``) or the city's own."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    oc4ids: Mapped[str] = mapped_column(Text)
    color: Mapped[str] = mapped_column(String(7))
    label: Mapped[Translations] = mapped_column(JSONB)
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("color ~ '^#[0-9a-f]{6}$'", name="color"),)


class VocabularyTerm(Base):
    """A status, project type or document type (fixed codes) with its labels."""

    __tablename__ = "terms"

    vocabulary: Mapped[str] = mapped_column(String(20), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    oc4ids: Mapped[str] = mapped_column(Text)
    label: Mapped[Translations] = mapped_column(JSONB)
    position: Mapped[int] = mapped_column(Integer)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    category: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    project_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    contractor: Mapped[str | None] = mapped_column(Text)
    supervisor: Mapped[str | None] = mapped_column(Text)
    officer_name: Mapped[str | None] = mapped_column(Text)
    officer_phone: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    budget: Mapped[Decimal] = mapped_column(Money)
    contract_value: Mapped[Decimal | None] = mapped_column(Money)
    spent: Mapped[Decimal] = mapped_column(Money, server_default="0")
    progress_actual: Mapped[Decimal] = mapped_column(Percent, server_default="0")
    progress_planned: Mapped[Decimal] = mapped_column(Percent, server_default="0")
    planned_start: Mapped[date] = mapped_column(Date)
    planned_end: Mapped[date] = mapped_column(Date)
    actual_start: Mapped[date | None] = mapped_column(Date)
    actual_end: Mapped[date | None] = mapped_column(Date)
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    address: Mapped[str | None] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    is_sample: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    # the stable id of the imported row it came from (``geo.imports``), unique in its agency
    source_key: Mapped[str | None] = mapped_column(Text)
    # None only for a draft not yet placed (an imported row without geometry)
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=True)
    search_text: Mapped[str] = mapped_column(
        Text,
        Computed(
            "lower(code || ' ' || title || ' ' || coalesce(contractor, '') || ' ' "
            "|| coalesce(address, ''))"
        ),
    )

    __table_args__ = (
        CheckConstraint(f"status IN ({sql_list(STATUSES)})", name="status"),
        CheckConstraint(f"project_type IN ({sql_list(PROJECT_TYPES)})", name="project_type"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint(
            "budget >= 0 AND spent >= 0 AND coalesce(contract_value, 0) >= 0", name="money"
        ),
        CheckConstraint(
            "progress_actual BETWEEN 0 AND 100 AND progress_planned BETWEEN 0 AND 100",
            name="progress",
        ),
        CheckConstraint("planned_end >= planned_start", name="planned_dates"),
        CheckConstraint(
            "actual_end IS NULL OR (actual_start IS NOT NULL AND actual_end >= actual_start)",
            name="actual_dates",
        ),
        CheckConstraint(
            f"geom IS NULL OR array_position(ARRAY[{sql_list(GEOMETRY_TYPES)}], "
            "GeometryType(geom)) IS NOT NULL",
            name="geom_type",
        ),
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
        CheckConstraint("geom IS NOT NULL OR NOT published", name="placed"),
        CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_reason IS NULL)", name="withdrawn"),
        Index("ix_projects_geom", "geom", postgresql_using="gist"),
        Index("ix_projects_category_status", "category", "status"),
        Index("ix_projects_agency_code", "agency_code"),
        Index("ix_projects_district_code", "district_code"),
        Index("ix_projects_contractor", "contractor"),
        # (code COLLATE "C") in byte order (migration 0013); Alembic reflects it as plain code
        Index("ix_projects_code_bytes", "code"),
        Index("ix_projects_planned_dates", "planned_start", "planned_end"),
        # the list view's orders and the search's, with the id that breaks ties (migration 0022)
        Index("ix_projects_budget_id", "budget", "id"),
        Index("ix_projects_title_id", "title", "id"),
        Index("ix_projects_progress_id", "progress_actual", "id"),
        Index("ix_projects_end_id", "planned_end", "id"),
        Index("ix_projects_updated_id", "updated_at", "id"),
        Index(
            "uq_projects_agency_code_source_key",
            "agency_code",
            "source_key",
            unique=True,
            postgresql_where=text("source_key IS NOT NULL"),
        ),
        Index(
            "ix_projects_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )


class ProgressReport(Base):
    __tablename__ = "progress_reports"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    reported_on: Mapped[date] = mapped_column(Date)
    actual: Mapped[Decimal] = mapped_column(Percent)
    planned: Mapped[Decimal] = mapped_column(Percent)
    spent_to_date: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(Text)
    # A contractor's report waits for an official of the agency; the public sees approved ones
    state: Mapped[str] = mapped_column(String(10), server_default="approved")
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("project_id", "reported_on"),
        CheckConstraint("state IN ('pending', 'approved', 'rejected')", name="state"),
        CheckConstraint(
            "actual BETWEEN 0 AND 100 AND planned BETWEEN 0 AND 100 AND spent_to_date >= 0",
            name="values",
        ),
    )


class Document(Base):
    """A published document; photos are documents of OC4IDS type ``illustration``."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    document_type: Mapped[str] = mapped_column(String(60))
    url: Mapped[str | None] = mapped_column(Text)
    file_path: Mapped[str | None] = mapped_column(Text)
    media_type: Mapped[str | None] = mapped_column(Text)
    published_on: Mapped[date | None] = mapped_column(Date)
    # A file of a progress report (``geo.reports``), public once the report is approved
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("progress_reports.id", ondelete="CASCADE")
    )
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the stored (served) bytes
    size: Mapped[int | None] = mapped_column(BigInteger)
    thumbnail_path: Mapped[str | None] = mapped_column(Text)
    # A photo's EXIF: local time (EXIF names no zone) and position
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    taken_position = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    flag: Mapped[str | None] = mapped_column(Text)  # "photo taken 1.4 km away"

    __table_args__ = (
        CheckConstraint("url IS NOT NULL OR file_path IS NOT NULL", name="source"),
        CheckConstraint(
            "(sha256 IS NULL) = (size IS NULL) AND (sha256 IS NULL OR ("
            "sha256 ~ '^[0-9a-f]{64}$' AND size >= 0 AND file_path IS NOT NULL))",
            name="stored",
        ),
        Index("ix_documents_project_id", "project_id"),
        Index("ix_documents_report_id", "report_id"),
        Index("ix_documents_sha256", "sha256"),
    )


class DataVersion(Base):
    """One row whose version every write bumps (by trigger): the key of HTTP caches."""

    __tablename__ = "data_version"

    singleton: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    version: Mapped[int] = mapped_column(BigInteger, server_default="1")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class User(Base):
    """An account: an official of one agency, a contractor speaking for the company projects
    name as their contractor, a planner or an admin. Passwords are kept as Argon2 hashes."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"))
    contractor: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"role IN ({sql_list(ROLES)})", name="role"),
        CheckConstraint("(role = 'official') = (agency_code IS NOT NULL)", name="agency"),
        CheckConstraint("(role = 'contractor') = (contractor IS NOT NULL)", name="contractor"),
        Index("uq_users_email", func.lower(text("email")), unique=True),
    )


class Token(Base):
    """A sign-in session or a long-lived API token, kept only as its SHA-256 digest."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    digest: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("kind IN ('session', 'api')", name="kind"),
        Index("ix_tokens_user_id", "user_id"),
    )


class LoginFailure(Base):
    """A failed sign-in, by account (``user:<email>``) or address (``ip:<address>``)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_login_failures_subject_failed_at", "subject", "failed_at"),)


class ChangeHead(Base):
    """The last entry of the change log: what a writer locks to append the next one."""

    __tablename__ = "change_head"

    singleton: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    hash: Mapped[bytes] = mapped_column(
        LargeBinary, server_default=text("decode(repeat('00', 32), 'hex')")
    )

    __table_args__ = (CheckConstraint("singleton", name="singleton"),)


class ChangeEntry(Base):
    """One entry of the public change log (``geo.changelog``); append-only."""

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    project_code: Mapped[str | None] = mapped_column(String(40))  # None for an import's entry
    agency_code: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)

    __table_args__ = (
        CheckConstraint(f"action IN ({sql_list(ACTIONS)})", name="action"),
        CheckConstraint(
            f"(action IN ({sql_list(UNATTACHED)})) = (project_code IS NULL)", name="project"
        ),
        CheckConstraint(
            f"action IN ({sql_list(UNATTACHED)}) OR agency_code IS NOT NULL", name="agency"
        ),
        Index("ix_changes_project_code", "project_code"),
        Index("ix_changes_agency_code", "agency_code"),
        Index("ix_changes_at", "at"),
    )


class ImportJob(Base):
    """An import sent to the API (``geo.imports.jobs``): what was sent, how far it got, and
    its report or the problem that stopped it."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"))
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(CHAR(64))
    mapping: Mapped[dict] = mapped_column(JSONB)
    options: Mapped[dict] = mapped_column(JSONB)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(20), server_default="running")
    rows_read: Mapped[int] = mapped_column(Integer, server_default="0")
    report: Mapped[dict | None] = mapped_column(JSONB)
    problem: Mapped[dict | None] = mapped_column(JSONB)

    __table_args__ = (
        CheckConstraint(f"state IN ({sql_list(JOB_STATES)})", name="state"),
        Index("ix_imports_agency_code", "agency_code"),
    )


class Moratorium(Base):
    """A protected zone a planner drew (``geo.conflicts``): no excavation there in its period."""

    __tablename__ = "moratoria"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint("ends >= starts", name="period"),
        CheckConstraint(
            "GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING', 'POLYGON', 'MULTIPOLYGON')",
            name="geom_type",
        ),
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
        Index("ix_moratoria_geom", "geom", postgresql_using="gist"),
    )


class Conflict(Base):
    """Two works that meet in space and time, or a work in a protected zone
    (``geo.conflicts``), with the planners' workflow."""

    __tablename__ = "conflicts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    a_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    b_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("moratoria.id", ondelete="CASCADE"))
    distance_m: Mapped[float] = mapped_column(REAL)
    overlap_days: Mapped[int] = mapped_column(Integer)  # zero or less: a gap of that many days
    at = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    holds: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    status: Mapped[str] = mapped_column(String(12), server_default="open")
    note: Mapped[str | None] = mapped_column(Text)  # internal: never disclosed
    days_saved: Mapped[int | None] = mapped_column(Integer)
    money_saved: Mapped[Decimal | None] = mapped_column(Money)
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_list(KINDS)})", name="kind"),
        CheckConstraint("(b_id IS NULL) <> (zone_id IS NULL)", name="other"),
        CheckConstraint("kind = 'moratorium' OR (zone_id IS NULL AND a_id < b_id)", name="pair"),
        CheckConstraint(f"status IN ({sql_list(CONFLICT_STATUSES)})", name="status"),
        CheckConstraint(
            "coalesce(days_saved, 0) >= 0 AND coalesce(money_saved, 0) >= 0", name="saved"
        ),
        Index(
            "uq_conflicts_pair",
            "a_id",
            "b_id",
            "zone_id",
            text("(kind = 'moratorium')"),
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_conflicts_b_id", "b_id"),
        Index("ix_conflicts_zone_id", "zone_id"),
        Index("ix_conflicts_at", "at", postgresql_using="gist"),
        # the few conflicts planners have worked on, for the lists of those statuses
        Index("ix_conflicts_worked_on", "id", postgresql_where=text("status <> 'open'")),
    )


class ConflictRules(Base):
    """The rules the stored conflicts follow: those of the last full scan."""

    __tablename__ = "conflict_rules"

    singleton: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    buffer_m: Mapped[float] = mapped_column(REAL, server_default="20")
    gap_days: Mapped[int] = mapped_column(Integer, server_default="180")
    moratorium_months: Mapped[int] = mapped_column(Integer, server_default="36")
    excavating: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default="{water,sewer,power,telecom,gas}"
    )
    protected: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{road}")
    scanned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("singleton", name="singleton"),)


class MapFeature(Base):
    """A published project's map row, kept by trigger (migration 0017): Web Mercator geometry,
    representative point in centimetres, tile properties, first flagged day, totals."""

    __tablename__ = "map_features"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    district_code: Mapped[str | None] = mapped_column(String(40))
    budget: Mapped[Decimal] = mapped_column(Money)
    spent: Mapped[Decimal] = mapped_column(Money)
    flagged_on: Mapped[date] = mapped_column(Date)
    x: Mapped[int] = mapped_column(BigInteger)
    y: Mapped[int] = mapped_column(BigInteger)
    geom = mapped_column(Geometry("GEOMETRY", srid=3857, spatial_index=False), nullable=False)

    __table_args__ = (Index("ix_map_features_geom", "geom", postgresql_using="gist"),)


class MapCell(Base):
    """The projects of one category whose point lies in one cell of a tile, and the sums of
    their points (migration 0017)."""

    __tablename__ = "map_cells"

    zoom: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    x: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    y: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cell: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    projects: Mapped[int] = mapped_column(Integer)
    sum_x: Mapped[int] = mapped_column(BigInteger)
    sum_y: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_map_cells_empty", "zoom", postgresql_where=text("projects = 0")),)


class MapConflictCell(Base):
    """The conflicts of one kind the public layer shows whose meeting point lies in one cell of
    a tile, and the sums of their points (migration 0021)."""

    __tablename__ = "map_conflict_cells"

    zoom: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    x: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    y: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cell: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    conflicts: Mapped[int] = mapped_column(Integer)
    sum_x: Mapped[int] = mapped_column(BigInteger)
    sum_y: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_map_conflict_cells_empty", "zoom", postgresql_where=text("conflicts = 0")),
    )


class DistrictSum(Base):
    """Projects, budget and paid per district, category, status and first flagged day
    (migration 0017)."""

    __tablename__ = "district_sums"

    district_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    flagged_on: Mapped[date] = mapped_column(Date, primary_key=True)
    projects: Mapped[int] = mapped_column(Integer)
    budget: Mapped[Decimal] = mapped_column(Numeric)
    spent: Mapped[Decimal] = mapped_column(Numeric)

    __table_args__ = (
        Index("ix_district_sums_empty", "district_code", postgresql_where=text("projects = 0")),
    )


class AreaVersion(Base):
    """The data version at which the map inside tile zoom/x/y last changed (migration 0017)."""

    __tablename__ = "area_versions"

    zoom: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    x: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    y: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_area_versions_version", "version"),)


class KeptBody(Base):
    """A slow response body by its ETag, for every API process (an unlogged table, migration
    0018, ``geo.body_cache``)."""

    __tablename__ = "body_cache"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    kept_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_body_cache_kept_at", "kept_at"),
        {"prefixes": ["UNLOGGED"]},
    )
