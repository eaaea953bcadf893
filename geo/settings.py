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
    read_database_url: str | None = Field(
        default=None,
        description="Login the API reads published data with (a member of allimi_read); "
        "unset, the embedded server's allimi_reader, or DATABASE_URL's login acting as "
        "allimi_read.",
    )
    write_database_url: str | None = Field(
        default=None,
        description="Login the API writes officials' changes with (a member of allimi_write); "
        "unset, the embedded server's allimi_writer, or DATABASE_URL's login acting as "
        "allimi_write.",
    )
    state_dir: Path = Field(
        default=PROJECT_ROOT / ".allimi",
        description="Where the embedded PostGIS cluster and its password live.",
    )
    pg_port: int | None = Field(
        default=None,
        ge=1024,
        le=65535,
        description="Port of the embedded PostGIS; unset, each cluster picks a free one "
        "(54329 when free) and keeps it in its folder.",
    )
    pg_bindir: Path | None = Field(
        default=None, description="PostgreSQL server binaries; found automatically when unset."
    )
    pg_install: bool = Field(
        default=True,
        description="May install Debian's postgresql and PostGIS packages when they are missing.",
    )
    pg_shared_buffers_mb: int | None = Field(
        default=None,
        ge=16,
        description="Memory the embedded PostGIS keeps table and index pages in (MB), taken "
        "when it starts; unset: a quarter of the machine's memory, from 256 MB to 8 GB.",
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
    session_hours: float = Field(
        default=8.0, gt=0, le=24 * 31, description="How long a sign-in lasts, in hours."
    )
    signin_failures_per_account: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins an account may have in 15 minutes; then 429 until the "
        "oldest is that old.",
    )
    signin_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins one address may make in 15 minutes (any accounts).",
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
    shared_cache_mb: int = Field(
        default=256,
        ge=0,
        description="Size of a cache of slow responses in PostgreSQL (an unlogged table on the "
        "primary) that every API process and a restarted one serve from; 0 turns it off.",
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
    rate_per_s: float = Field(
        default=30.0,
        gt=0,
        description="Requests a second one client (address) may send to an API process, "
        "files under /static and /vendor aside; past it (and its burst), 429 with Retry-After.",
    )
    rate_burst: float = Field(
        default=120.0, ge=1, description="Requests a client may send at once above its rate."
    )
    client_db_share: float = Field(
        default=0.05,
        gt=0,
        description="Seconds of database time a second one client may use in an API process; "
        "a client past it (and its burst) gets 429 for answers not already kept in memory.",
    )
    client_db_burst: float = Field(
        default=3.0,
        gt=0,
        description="Seconds of database time a client may use at once above its share; past "
        "half of it, its statements run one at a time with those of other such clients.",
    )
    client_db_free_ms: float = Field(
        default=50.0,
        ge=0,
        description="Each statement is charged only its time beyond this: quick ones (the "
        "click query, small pages) are bounded by the request rate instead.",
    )
    client_statements: int = Field(
        default=2,
        ge=1,
        description="Statements one client may run at once in an API process (more wait), "
        "so that a few clients cannot hold every connection.",
    )
    geometry_margin_m: float = Field(
        default=200.0,
        ge=0,
        description="How far outside the city's districts a project's geometry may reach "
        "(metres), for works on the boundary.",
    )
    geometry_max_length_km: float = Field(
        default=50.0,
        gt=0,
        description="Longest line a project may have (its total length, km): longer is taken "
        "for a mistake in the input.",
    )
    geometry_max_area_km2: float = Field(
        default=25.0,
        gt=0,
        description="Largest area a project may cover (km²): larger is taken for a mistake.",
    )
    files_dir: Path | None = Field(
        default=None,
        description="Folder the photos and documents of progress reports are stored in, by "
        "content hash; unset, files/ under the state folder.",
    )
    upload_max_mb: float = Field(
        default=10.0, gt=0, description="Largest file a progress report may carry (MB)."
    )
    upload_max_files: int = Field(
        default=10, ge=1, description="Most files one progress report may carry."
    )
    import_max_mb: float = Field(
        default=1024.0,
        gt=0,
        description="Largest file an import reads (MB), and the most a zip may unpack to.",
    )
    basemap_url: str | None = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    basemap_attribution: str = "&copy; OpenStreetMap contributors"

    @property
    def files_root(self) -> Path:
        return self.files_dir or self.state_dir / "files"

    @property
    def upload_max_bytes(self) -> int:
        return int(self.upload_max_mb * 2**20)

    @property
    def import_max_bytes(self) -> int:
        return int(self.import_max_mb * 2**20)


@lru_cache
def get_settings() -> Settings:
    return Settings()
