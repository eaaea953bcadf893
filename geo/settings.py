"""Settings read from the environment (prefix ``ALLIMI_``; ``DATABASE_URL`` as is)."""

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALLIMI_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "ALLIMI_DATABASE_URL"),
        description="PostgreSQL/PostGIS server to use; unset runs the embedded local PostGIS.",
    )
    state_dir: Path = Field(
        default=PROJECT_ROOT / ".allimi",
        description="Where the embedded PostGIS cluster and its password live.",
    )
    pg_port: int = Field(default=54329, ge=1024, le=65535)
    pg_bindir: Path | None = Field(
        default=None, description="PostgreSQL server binaries; found automatically when unset."
    )
    pg_install: bool = Field(
        default=True,
        description="May install Debian's postgresql and PostGIS packages when they are missing.",
    )
    db_name: str = "allimi"
    concurrency: int = Field(
        default=8,
        ge=1,
        le=200,
        description="Database connections of an API process: statements it runs at once "
        "(more requests wait their turn), and threads for pages rendered in Python. Scale out "
        "with more processes rather than more connections per process.",
    )
    statement_timeout_ms: int = Field(
        default=30_000,
        ge=1,
        description="A public read that runs longer is cut off by the server and answered 503; "
        "the API stops waiting one second later even when the server does not answer at all.",
    )
    pool_wait_s: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a request waits for a free database connection before it is "
        "answered 503 with Retry-After.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    demo_projects: int = Field(default=3000, ge=0)
    version_ttl: float = Field(
        default=1.0,
        ge=0,
        description="Seconds an API process reuses the data version it read "
        "for ETags: a write shows in ETags within this time.",
    )
    cache_mb: int = Field(
        default=64,
        ge=0,
        description="Memory an API process gives to responses that were slow to make (city-wide "
        "clusters, low-zoom tiles, district totals), kept until the data changes; 0 turns it off.",
    )
    cache_min_ms: float = Field(
        default=20.0,
        ge=0,
        description="A response is kept only when making it took at least this long.",
    )
    public_url: str | None = Field(
        default=None,
        description="The portal's public base URL (https://allimi.example.org): links in "
        "responses start with it; unset, they are relative. Never taken from the request's Host.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; empty: none are.",
    )
    basemap_url: str | None = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    basemap_attribution: str = "&copy; OpenStreetMap contributors"


@lru_cache
def get_settings() -> Settings:
    return Settings()
