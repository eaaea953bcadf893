"""The embedded PostGIS: a PostgreSQL cluster that Allimi creates, starts and stops itself.

The cluster lives under ``ALLIMI_STATE_DIR`` (``.allimi/postgres`` in the checkout) and listens
on 127.0.0.1 only. Its port is ``ALLIMI_PG_PORT`` when set; otherwise each cluster picks its
own and remembers it in its folder (54329 when free: clear of a system server on 5432), so two
checkouts on one machine run side by side. PostgreSQL refuses to run as root, so when we are
root the server runs as the unprivileged ``postgres`` user (or an ``allimi`` system user we
create), and its folder moves to ``/var/lib/allimi`` when that user cannot reach the checkout
(a checkout under a private home directory).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from geo.errors import AllimiError
from geo.settings import Settings

SUPERUSER = "allimi"
# The logins the API connects as (see geo.store.database): each a member of one group role
READER = "allimi_reader"  # reads the published data (allimi_read)
WRITER = "allimi_writer"  # officials' changes and the change log (allimi_write)
FIRST_PORT = 54329
DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")


@dataclass(frozen=True)
class Cluster:
    root: Path
    bindir: Path
    port: int
    run_as: str | None  # OS user that runs the server when we are root
    shared_buffers_mb: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    def login_password_file(self, login: str) -> Path:
        """Where the password of ``login`` (READER or WRITER) is kept."""
        return self.root / f"{login.removeprefix('allimi_')}-password"

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    def url(self, dbname: str) -> str:
        return self._url(SUPERUSER, self.password_file, dbname)

    def login_url(self, login: str, dbname: str) -> str:
        return self._url(login, self.login_password_file(login), dbname)

    def _url(self, user: str, password_file: Path, dbname: str) -> str:
        password = quote(password_file.read_text().strip(), safe="")
        return f"postgresql+psycopg2://{user}:{password}@127.0.0.1:{self.port}/{dbname}"


def _version_of(bindir: Path) -> str | None:
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return match.group(1) if match else None


def _has_postgis(bindir: Path, major: str) -> bool:
    shares = [
        Path("/usr/share/postgresql") / major,
        bindir.parent / "share" / "postgresql",
        bindir.parent / "share",
    ]
    return any((share / "extension" / "postgis.control").exists() for share in shares)


def _candidate_bindirs(settings: Settings) -> list[Path]:
    if settings.pg_bindir:
        return [settings.pg_bindir] if (settings.pg_bindir / "postgres").exists() else []
    found = sorted(
        DEBIAN_PG_ROOT.glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("postgres")
    if on_path:
        found.append(Path(on_path).resolve().parent)
    return [p for p in found if (p / "postgres").exists()]


def find_server(settings: Settings) -> tuple[Path, str] | None:
    """The newest PostgreSQL server binaries that have PostGIS next to them."""
    for bindir in _candidate_bindirs(settings):
        major = _version_of(bindir)
        if major and _has_postgis(bindir, major):
            return bindir, major
    return None


def _apt_install(*packages: str) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    if subprocess.run(cmd, env=env, capture_output=True, check=False).returncode == 0:
        return True
    subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
    return subprocess.run(cmd, env=env, capture_output=True, check=False).returncode == 0


def install_server(settings: Settings) -> tuple[Path, str]:
    """Install Debian's PostgreSQL and its matching PostGIS, when we may."""
    if not settings.pg_install:
        raise AllimiError(
            "PostgreSQL with PostGIS was not found and ALLIMI_PG_INSTALL is off; install "
            "Debian's postgresql and postgresql-NN-postgis-3 packages or set DATABASE_URL."
        )
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise AllimiError(
            "PostgreSQL with PostGIS was not found and cannot be installed from here; run "
            "'sudo apt-get install postgresql postgis' (Debian/Ubuntu) or set DATABASE_URL "
            "to a PostGIS server."
        )
    if not _candidate_bindirs(settings) and not _apt_install("postgresql"):
        raise AllimiError(
            "Installing Debian's postgresql package failed; check the package sources "
            "(apt-get update) or set DATABASE_URL to a PostGIS server."
        )
    for bindir in _candidate_bindirs(settings):
        major = _version_of(bindir)
        if major and _apt_install(f"postgresql-{major}-postgis-3"):
            found = find_server(settings)
            if found:
                return found
    raise AllimiError(
        "PostgreSQL is installed but its PostGIS package could not be installed; run "
        "'apt-get install postgresql-NN-postgis-3' for your PostgreSQL version NN."
    )


def _service_user() -> str:
    for name in ("postgres", SUPERUSER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SUPERUSER],
        check=True,
        capture_output=True,
    )
    return SUPERUSER


def _reachable_by_others(path: Path) -> bool:
    """Whether every existing ancestor of ``path`` can be traversed by any user."""
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            return False
    return True


def cluster_root(settings: Settings) -> Path:
    root = settings.state_dir.resolve() / "postgres"
    if os.geteuid() == 0 and not _reachable_by_others(root.parent):
        digest = hashlib.sha256(str(root).encode()).hexdigest()[:10]
        return Path("/var/lib/allimi") / f"{root.parent.parent.name}-{digest}"
    return root


def _run(cluster: Cluster, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
        user=cluster.run_as,
    )


def _chown(path: Path, user: str | None) -> None:
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def write_private(cluster: Cluster, path: Path, text: str) -> None:
    """Write a file of the cluster's folder that only the server's user may read."""
    path.write_text(text + "\n")
    path.chmod(0o600)
    _chown(path, cluster.run_as)


def new_password() -> str:
    return secrets.token_urlsafe(24)


def _initdb(cluster: Cluster) -> None:
    cluster.root.mkdir(parents=True, exist_ok=True)
    cluster.root.chmod(0o700)
    _chown(cluster.root, cluster.run_as)
    write_private(cluster, cluster.password_file, new_password())
    done = _run(
        cluster,
        cluster.bindir / "initdb",
        "-D",
        cluster.data_dir,
        "-U",
        SUPERUSER,
        f"--pwfile={cluster.password_file}",
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        *_locale_options(),
    )
    if done.returncode != 0:
        raise AllimiError(
            f"Creating the local PostGIS cluster in {cluster.data_dir} failed: "
            f"{_last_line(done.stderr)}"
        )


def _locale_options() -> list[str]:
    """C.UTF-8 when the system has it: byte-order collation, but Unicode character classes,
    which pg_trgm needs to index Korean text."""
    listed = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    if any(name.lower().replace("-", "") == "c.utf8" for name in listed.split()):
        return ["--locale=C.UTF-8"]
    return ["--no-locale"]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _port_free(port: int) -> bool:
    """Whether the server could listen on ``port`` of 127.0.0.1 (it reuses addresses too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _any_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _remembered_port(root: Path) -> int | None:
    try:
        return int((root / "port").read_text())
    except (OSError, ValueError):
        return None


def _free_port(cluster: Cluster) -> int:
    """The port to start on when none is set: the cluster's last one, else 54329, else any."""
    for port in (cluster.port, FIRST_PORT):
        if _port_free(port):
            return port
    return _any_free_port()


def running_port(cluster: Cluster) -> int | None:
    """The port our server listens on, or None when it is not running."""
    status = _run(cluster, cluster.bindir / "pg_ctl", "status", "-D", cluster.data_dir)
    if status.returncode != 0:
        return None
    lines = (cluster.data_dir / "postmaster.pid").read_text().splitlines()
    return int(lines[3])


def _start(cluster: Cluster) -> None:
    if not _port_free(cluster.port):
        raise AllimiError(
            f"Port {cluster.port} on 127.0.0.1 is already in use by another program; "
            "set ALLIMI_PG_PORT to a free port or unset it to let Allimi pick one (or stop "
            "that program)."
        )
    options = (
        f"-c port={cluster.port} -c listen_addresses=127.0.0.1 "
        "-c unix_socket_directories='' -c max_connections=200 "
        f"-c shared_buffers={cluster.shared_buffers_mb}MB"
    )
    done = _run(
        cluster,
        cluster.bindir / "pg_ctl",
        "start",
        "-w",
        "-t",
        "120",
        "-D",
        cluster.data_dir,
        "-l",
        cluster.log_file,
        "-o",
        options,
    )
    if done.returncode != 0:
        log = cluster.log_file.read_text(errors="replace") if cluster.log_file.exists() else ""
        raise AllimiError(
            f"The local PostGIS server did not start: {_last_line(log or done.stderr)} "
            f"(full log: {cluster.log_file})."
        )
    write_private(cluster, cluster.port_file, str(cluster.port))


def default_shared_buffers_mb() -> int:
    """A quarter of the machine's memory, from 256 MB to 8 GB: a city's projects and their
    indexes stay in PostgreSQL's own cache (the usual advice), and the memory is only taken
    as pages are read."""
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return max(256, min(memory_mb // 4, 8192))


def local_cluster(settings: Settings, *, install: bool = True) -> Cluster:
    """Describe the embedded cluster, finding (or installing) PostgreSQL with PostGIS."""
    found = find_server(settings)
    if found is None:
        if not install:
            raise AllimiError("PostgreSQL with PostGIS is not installed on this machine.")
        found = install_server(settings)
    bindir, major = found
    run_as = _service_user() if os.geteuid() == 0 else None
    root = cluster_root(settings)
    port = settings.pg_port or _remembered_port(root) or FIRST_PORT
    buffers = settings.pg_shared_buffers_mb or default_shared_buffers_mb()
    cluster = Cluster(root=root, bindir=bindir, port=port, run_as=run_as, shared_buffers_mb=buffers)
    version_file = cluster.data_dir / "PG_VERSION"
    if version_file.exists() and version_file.read_text().strip() != major:
        raise AllimiError(
            f"The local cluster in {cluster.data_dir} was made by PostgreSQL "
            f"{version_file.read_text().strip()}, but PostgreSQL {major} is installed; remove "
            "that folder to start afresh (its data is lost) or install the older server."
        )
    return cluster


def start_local(settings: Settings) -> Cluster:
    """Create the cluster if needed and start it if it is not running (idempotent)."""
    cluster = local_cluster(settings)
    if not (cluster.data_dir / "PG_VERSION").exists():
        _initdb(cluster)
    port = running_port(cluster)
    if port is not None:
        return replace(cluster, port=port)
    if settings.pg_port is None:
        cluster = replace(cluster, port=_free_port(cluster))
    _start(cluster)
    return cluster


def stop_local(settings: Settings) -> bool:
    """Stop the embedded server; False when it was not running."""
    cluster = local_cluster(settings, install=False)
    if not (cluster.data_dir / "PG_VERSION").exists() or running_port(cluster) is None:
        return False
    done = _run(cluster, cluster.bindir / "pg_ctl", "stop", "-m", "fast", "-D", cluster.data_dir)
    if done.returncode != 0:
        raise AllimiError(f"Stopping the local PostGIS server failed: {_last_line(done.stderr)}")
    return True
