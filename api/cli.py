"""The ``allimi`` command: every operation on a portal, from provisioning to serving."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from geo.accounts import MIN_PASSWORD, ROLES, NewUser, add_user
from geo.changelog import length, verify_stored
from geo.conflicts import store as conflict_store
from geo.conflicts.rules import ConflictSettings, Rules
from geo.errors import AllimiError
from geo.health import project_count
from geo.jurisdiction import SEOUL, City, init_city, parse_city, read_city, stored_jurisdiction
from geo.sample.generator import SampleSpec
from geo.sample.loader import load_sample
from geo.settings import get_settings
from geo.store import migrate as migrations
from geo.store.database import engine_for, prepare, read_url, write_url
from geo.store.provision import stop_local

app = typer.Typer(
    help="Allimi: every public construction project of a city, on a map.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db = typer.Typer(help="The PostGIS database.", no_args_is_help=True)
app.add_typer(db, name="db")
city = typer.Typer(help="The city the portal discloses.", no_args_is_help=True)
app.add_typer(city, name="city")
conflicts = typer.Typer(help="The planners' conflicts of works.", no_args_is_help=True)
app.add_typer(conflicts, name="conflicts")


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _ready_database() -> str:
    """Provision (or reach) PostGIS, migrate to head, and return the database URL."""
    url = prepare(get_settings())
    migrations.upgrade(url)
    return url


def _project_count(url: str) -> int:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return project_count(conn)
    finally:
        engine.dispose()


def _init_city(url: str, config: City, drop_sample: bool = False) -> None:
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            districts = init_city(conn, config, drop_sample=drop_sample)
    finally:
        engine.dispose()
    _say(
        f"{config.name[config.languages[0]]} is set up: {districts} districts, languages "
        f"{', '.join(config.languages)}, currency {config.currency}."
    )


def _city_or_seoul(url: str) -> None:
    """Set Seoul up when the database has no city yet (a new portal's default)."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            found = stored_jurisdiction(conn)
    finally:
        engine.dispose()
    if found is None:
        _say("No city is set up yet: setting up Seoul, the default.")
        _init_city(url, read_city(SEOUL))


def _load_demo(url: str, spec: SampleSpec, replace: bool) -> None:
    step = max(spec.projects // 10, 10_000)

    def progress(done: int) -> None:
        if done % step == 0 or done == spec.projects:
            _say(f"  {done:,} / {spec.projects:,} projects")

    _say(
        f"Loading {spec.projects:,} synthetic sample projects (seed {spec.seed}, "
        f"as of {spec.as_of})..."
    )
    result = load_sample(url, spec, replace=replace, progress=progress)
    _say(
        f"Loaded {result.projects:,} projects, {result.reports:,} progress reports and "
        f"{result.documents:,} documents in {result.seconds:.1f} s."
    )
    _scan(url)


def _scan(url: str) -> None:
    rules = Rules.of(ConflictSettings())
    engine = engine_for(url)
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            merged = conflict_store.scan(conn, rules)
    finally:
        engine.dispose()
    _say(
        f"Conflicts (buffer {rules.buffer_m:g} m, gap {rules.gap_days} days, moratorium "
        f"{rules.moratorium_months} months): {merged.found:,} found, {merged.kept:,} new or "
        f"changed, {merged.gone:,} open ones gone, {merged.stale:,} worked on no longer hold; "
        f"{time.perf_counter() - started:.1f} s."
    )


@conflicts.command("scan")
def conflicts_scan() -> None:
    """Find every conflict of the city by the ALLIMI_CONFLICT_* settings, and keep them (the
    rules then apply to every write's re-check)."""
    _scan(_ready_database())


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Provision PostGIS, migrate, load the demo city if empty, and serve the portal."""
    settings = get_settings()
    url = _ready_database()
    _city_or_seoul(url)
    if _project_count(url) == 0 and settings.demo_projects:
        _load_demo(url, SampleSpec(projects=settings.demo_projects, as_of=date.today()), False)
    serve(read_url(settings), write_url(settings), host or settings.host, port or settings.port)


def serve(reader: str, writer: str, host: str, port: int) -> None:
    """One server process (uvloop and httptools), reading with the login ``reader`` and writing
    with ``writer``. To scale out, run more processes, here or on other machines, behind a load
    balancer: they share nothing but the database."""
    import uvicorn

    from api.app import create_app
    from api.server import uvicorn_config

    settings = get_settings()
    _say(f"Allimi is serving at http://{host}:{port}")
    app = create_app(settings, reader, writer)
    uvicorn.Server(uvicorn_config(app, settings, host, port)).run()


@app.command()
def demo(
    projects: Annotated[int, typer.Option(min=1, help="How many projects.")] = 3000,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same city.")
    ] = 2013,
    as_of: Annotated[
        str | None, typer.Option(help="Date the data describes (YYYY-MM-DD); default today.")
    ] = None,
    replace: Annotated[bool, typer.Option(help="Replace existing sample projects.")] = False,
) -> None:
    """Generate synthetic projects inside the city's boundaries (Seoul when none is set up)."""
    try:
        day = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        raise AllimiError(f"--as-of {as_of!r} is not a date in the form YYYY-MM-DD.") from None
    url = _ready_database()
    _city_or_seoul(url)
    _load_demo(url, SampleSpec(projects=projects, seed=seed, as_of=day), replace)


def _pairs(values: list[str], option: str) -> dict[str, str]:
    """``lang=text`` options as a dict."""
    out = {}
    for value in values:
        lang, sep, text_ = value.partition("=")
        if not sep or not lang or not text_:
            raise AllimiError(f"{option} {value!r} is not LANGUAGE=TEXT (e.g. vi=Quận).")
        out[lang.strip()] = text_.strip()
    return out


Pairs = Annotated[list[str], typer.Option(metavar="LANG=TEXT")]


@city.command("init")
def city_init(
    config: Annotated[
        Path | None, typer.Option(help="A city file (TOML; see data/seoul/city.toml).")
    ] = None,
    boundaries: Annotated[
        Path | None, typer.Option(help="Districts: GeoJSON, GeoPackage or zipped Shapefile.")
    ] = None,
    code_field: Annotated[str | None, typer.Option(help="Field of each district's code.")] = None,
    name_field: Pairs = [],  # noqa: B006 - typer reads the default, never mutates it
    name: Pairs = [],  # noqa: B006
    level_name: Pairs = [],  # noqa: B006
    code_prefix: Annotated[str | None, typer.Option(help="Project codes start with it.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code, e.g. VND.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA name, e.g. Asia/Ho_Chi_Minh.")] = None,
    languages: Annotated[
        str | None, typer.Option(help="Offered languages, the default first: vi,en.")
    ] = None,
    attribution: Annotated[str, typer.Option(help="Whom the boundaries come from.")] = "",
    licence_name: Pairs = [],  # noqa: B006
    licence_url: Annotated[
        str | None, typer.Option(help="The terms of the licence of the data (http or https).")
    ] = None,
    repair: Annotated[bool, typer.Option(help="Repair invalid rings (make_valid).")] = False,
    drop_sample: Annotated[
        bool, typer.Option(help="Remove the synthetic sample projects of the city before.")
    ] = False,
) -> None:
    """Set the city up in an empty portal: its boundaries, names, languages, money, codes and
    the licence of its data.

    Either a city file (--config), or the options; --name-field, --name, --level-name and
    --licence-name take LANGUAGE=TEXT and may be repeated (--name vi="Đà Nẵng" --name
    en="Da Nang"). Without --licence-name and --licence-url, the data is under CC BY 4.0."""
    if config is not None:
        chosen = read_city(config)
    else:
        if boundaries is None or code_field is None:
            raise AllimiError("Give --config FILE, or --boundaries FILE and --code-field FIELD.")
        values: dict[str, object] = {
            "name": _pairs(name, "--name"),
            "boundaries": boundaries,
            "levels": [
                {
                    "label": _pairs(level_name, "--level-name"),
                    "code": code_field,
                    "name": _pairs(name_field, "--name-field"),
                }
            ],
            "attribution": attribution,
            "repair": repair,
        }
        given = {
            "code_prefix": code_prefix,
            "currency": currency,
            "timezone": timezone,
            "languages": languages.split(",") if languages else None,
        }
        values.update({k: v for k, v in given.items() if v is not None})
        if licence_name or licence_url is not None:
            licence = {"name": _pairs(licence_name, "--licence-name"), "url": licence_url}
            values["licence"] = {k: v for k, v in licence.items() if v is not None}
        chosen = parse_city(values, "allimi city init")
    _init_city(_ready_database(), chosen, drop_sample)


user = typer.Typer(
    help="Accounts of officials, contractors, planners and admins.", no_args_is_help=True
)
app.add_typer(user, name="user")


@user.command("add")
def user_add(
    email: Annotated[str, typer.Option(help="Sign-in e-mail address.")],
    name: Annotated[str, typer.Option(help="The person's name (never disclosed).")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    agency: Annotated[str | None, typer.Option(help="An official's agency code.")] = None,
    contractor: Annotated[
        str | None, typer.Option(help="A contractor's company, as projects name it.")
    ] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="ALLIMI_NEW_PASSWORD",
            help=f"At least {MIN_PASSWORD} characters; asked for when not given.",
        ),
    ] = "",
) -> None:
    """Create an account (the first admin, typically; admins add the rest in the portal)."""
    account = NewUser(email, name, role, password, agency, contractor)
    engine = engine_for(_ready_database())
    try:
        with engine.begin() as conn:
            number = add_user(conn, account)
    finally:
        engine.dispose()
    _say(f"Account {number} created: {email} ({role}).")


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="GeoJSON, GeoPackage, zipped Shapefile, KML, CSV or OC4IDS.")
    ],
    mapping: Annotated[
        Path | None, typer.Option(help="The field mapping (YAML or JSON); see --suggest-mapping.")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="Every row's agency code.")] = None,
    crs: Annotated[str | None, typer.Option(help="The CRS of a file that names none.")] = None,
    layer: Annotated[str | None, typer.Option(help="A GeoPackage layer or KML folder.")] = None,
    swap_axes: Annotated[bool, typer.Option(help="Swap x and y (latitude given first).")] = False,
    unmapped_drafts: Annotated[
        bool, typer.Option(help="Keep rows without geometry as drafts instead of refusing them.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option(help="Report what would happen; change nothing.")
    ] = False,
    suggest_mapping: Annotated[
        bool, typer.Option(help="Print a starting mapping for the file, and stop.")
    ] = False,
) -> None:
    """Import a file's projects: checked like the write API's, all or nothing, logged."""
    from geo.imports import load
    from geo.imports.mapping import Mapping, dumped, read_mapping, suggest
    from geo.imports.report import summary

    if suggest_mapping:
        columns, samples, has_geometry = load.sample_rows(file, layer)
        typer.echo(dumped(suggest(columns, samples, has_geometry=has_geometry)), nl=False)
        return
    chosen = read_mapping(mapping) if mapping else Mapping()
    options = load.Options(agency=agency, crs=crs, swap_axes=swap_axes, layer=layer,
                           dry_run=dry_run, unmapped_drafts=unmapped_drafts)  # fmt: skip
    engine = engine_for(_ready_database())
    try:
        with engine.begin() as conn, _rows_per_second() as progress:
            report = load.import_file(conn, file, chosen, options, progress=progress)
    finally:
        engine.dispose()
    _say(summary(report))
    if report.rejected:
        raise typer.Exit(1)


@contextmanager
def _rows_per_second() -> Iterator[Callable[[int], None]]:
    """A progress bar of the rows read, with their rate."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    began = time.monotonic()
    rows = TextColumn("{task.completed:,.0f} rows, {task.fields[rate]:,.0f} rows/s")
    with Progress(SpinnerColumn(), rows, TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("import", total=None, rate=0.0)
        yield lambda done: bar.update(
            task, completed=done, rate=done / max(time.monotonic() - began, 1e-3)
        )


@app.command("verify-log")
def verify_log() -> None:
    """Check the public change log's hash chain; name the first entry that breaks it."""
    engine = engine_for(_ready_database())
    try:
        with engine.connect() as conn:
            broken = verify_stored(conn)
            entries = length(conn)
    finally:
        engine.dispose()
    if broken:
        raise AllimiError(f"The change log is broken at entry {broken.seq}: {broken.reason}.")
    _say(f"The change log holds: {entries:,} entries, each following from the one before.")


@db.command("start")
def db_start() -> None:
    """Provision and start the database (the embedded one unless DATABASE_URL is set)."""
    _ready_database()
    _say("The database is ready and migrated.")


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded PostGIS server."""
    if get_settings().database_url:
        raise AllimiError("DATABASE_URL is set, so there is no embedded server to stop.")
    _say(
        "Stopped the local PostGIS server."
        if stop_local(get_settings())
        else "The local PostGIS server was not running."
    )


@db.command("migrate")
def db_migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Migrate the schema up to a revision."""
    url = prepare(get_settings())
    migrations.upgrade(url, revision)
    _say(f"Schema at revision {migrations.current(url)}.")


@db.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision ('base' empties it).")],
) -> None:
    """Migrate the schema down to a revision."""
    url = prepare(get_settings())
    migrations.downgrade(url, revision)
    _say(f"Schema at revision {migrations.current(url) or 'base'}.")


@db.command("url")
def db_url() -> None:
    """Print the database URL (starting the embedded server if needed)."""
    typer.echo(prepare(get_settings()))


def main() -> None:
    try:
        app()
    except AllimiError as exc:
        _say(f"allimi: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
