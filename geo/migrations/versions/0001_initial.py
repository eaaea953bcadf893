"""Projects with geometry, money and progress; districts, agencies, reports and documents.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(
        """
        CREATE TABLE districts (
            code varchar(10) CONSTRAINT pk_districts PRIMARY KEY,
            name_ko text NOT NULL,
            name_en text NOT NULL,
            geom geometry(MultiPolygon, 4326) NOT NULL
        );
        CREATE INDEX ix_districts_geom ON districts USING gist (geom);

        CREATE TABLE agencies (
            code varchar(40) CONSTRAINT pk_agencies PRIMARY KEY,
            name_ko text NOT NULL,
            name_en text NOT NULL,
            phone text
        );
        """
    )
    op.execute(
        """
        CREATE TABLE projects (
            id bigserial CONSTRAINT pk_projects PRIMARY KEY,
            code varchar(40) NOT NULL CONSTRAINT uq_projects_code UNIQUE,
            title text NOT NULL,
            description text NOT NULL DEFAULT '',
            category varchar(20) NOT NULL,
            project_type varchar(20) NOT NULL,
            status varchar(20) NOT NULL,
            agency_code varchar(40) NOT NULL
                CONSTRAINT fk_projects_agency_code_agencies REFERENCES agencies (code),
            contractor text,
            supervisor text,
            officer_name text,
            officer_phone text,
            currency varchar(3) NOT NULL DEFAULT 'KRW',
            budget numeric(18, 2) NOT NULL,
            contract_value numeric(18, 2),
            spent numeric(18, 2) NOT NULL DEFAULT 0,
            progress_actual numeric(5, 2) NOT NULL DEFAULT 0,
            progress_planned numeric(5, 2) NOT NULL DEFAULT 0,
            planned_start date NOT NULL,
            planned_end date NOT NULL,
            actual_start date,
            actual_end date,
            district_code varchar(10)
                CONSTRAINT fk_projects_district_code_districts REFERENCES districts (code),
            address text,
            published boolean NOT NULL DEFAULT true,
            is_sample boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            geom geometry(Geometry, 4326) NOT NULL,
            CONSTRAINT ck_projects_category CHECK (category IN (
                'road', 'water', 'sewer', 'gas', 'power', 'telecom', 'rail', 'transit',
                'building', 'school', 'park', 'river', 'housing')),
            CONSTRAINT ck_projects_status CHECK (status IN (
                'identification', 'preparation', 'implementation', 'suspended', 'completion',
                'maintenance', 'cancelled')),
            CONSTRAINT ck_projects_project_type CHECK (project_type IN (
                'construction', 'rehabilitation', 'replacement', 'expansion', 'decommissioning')),
            CONSTRAINT ck_projects_currency CHECK (currency ~ '^[A-Z]{3}$'),
            CONSTRAINT ck_projects_money
                CHECK (budget >= 0 AND spent >= 0 AND coalesce(contract_value, 0) >= 0),
            CONSTRAINT ck_projects_progress CHECK (
                progress_actual BETWEEN 0 AND 100 AND progress_planned BETWEEN 0 AND 100),
            CONSTRAINT ck_projects_planned_dates CHECK (planned_end >= planned_start),
            CONSTRAINT ck_projects_actual_dates CHECK (
                actual_end IS NULL OR (actual_start IS NOT NULL AND actual_end >= actual_start)),
            -- array_position, not IN: PostGIS's geometry_columns view reads a type check
            -- written as "geometrytype(geom) = ..." as if the column held that type only.
            CONSTRAINT ck_projects_geom_type CHECK (array_position(ARRAY[
                'POINT', 'LINESTRING', 'POLYGON', 'MULTIPOINT', 'MULTILINESTRING',
                'MULTIPOLYGON'], GeometryType(geom)) IS NOT NULL),
            CONSTRAINT ck_projects_geom_valid CHECK (ST_IsValid(geom))
        );
        CREATE INDEX ix_projects_geom ON projects USING gist (geom);
        CREATE INDEX ix_projects_category_status ON projects (category, status);
        CREATE INDEX ix_projects_agency_code ON projects (agency_code);
        CREATE INDEX ix_projects_district_code ON projects (district_code);

        CREATE TABLE progress_reports (
            id bigserial CONSTRAINT pk_progress_reports PRIMARY KEY,
            project_id bigint NOT NULL CONSTRAINT fk_progress_reports_project_id_projects
                REFERENCES projects (id) ON DELETE CASCADE,
            reported_on date NOT NULL,
            actual numeric(5, 2) NOT NULL,
            planned numeric(5, 2) NOT NULL,
            spent_to_date numeric(18, 2) NOT NULL,
            note text,
            CONSTRAINT uq_progress_reports_project_id_reported_on UNIQUE (project_id, reported_on),
            CONSTRAINT ck_progress_reports_values CHECK (
                actual BETWEEN 0 AND 100 AND planned BETWEEN 0 AND 100 AND spent_to_date >= 0)
        );

        CREATE TABLE documents (
            id bigserial CONSTRAINT pk_documents PRIMARY KEY,
            project_id bigint NOT NULL CONSTRAINT fk_documents_project_id_projects
                REFERENCES projects (id) ON DELETE CASCADE,
            title text NOT NULL,
            document_type varchar(60) NOT NULL,
            url text,
            file_path text,
            media_type text,
            published_on date,
            CONSTRAINT ck_documents_source CHECK (url IS NOT NULL OR file_path IS NOT NULL)
        );
        CREATE INDEX ix_documents_project_id ON documents (project_id);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE documents, progress_reports, projects, agencies, districts")
