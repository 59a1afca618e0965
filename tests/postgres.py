"""A real PostgreSQL for the tests, without any set-up by hand.

* ``TEST_POSTGRES_URL`` set (``postgresql+psycopg://user:pw@host:port/db``): that server is used.
* Otherwise, when the server binaries of Debian's ``postgresql`` package are installed
  (``/usr/lib/postgresql/*/bin/initdb``), a throwaway cluster is made in a temporary directory and started on
  127.0.0.1 on a free port for the test session, then stopped and removed. ``initdb`` refuses to run as root, so
  as root the cluster belongs to the ``postgres`` user and its commands run through ``runuser``.
* Otherwise PostgreSQL tests are skipped, saying why; under CI (``CI=true``, as ``.ci/run`` runs) they fail instead,
  so a CI run cannot pass without having run them.

Each test gets a database of its own (``CREATE DATABASE``), dropped afterwards, so tests cannot see each other's rows.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

START_TIMEOUT = 60


def server_binaries() -> Path | None:
    """The newest installed server's bin directory."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SBIN_DIRS = ("/usr/sbin", "/sbin")  # where util-linux installs runuser; minimal CI PATHs often lack them


def runuser() -> str | None:
    """Path of ``runuser``: on PATH, or in the sbin directories a non-login PATH may leave out."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN_DIRS])
    return shutil.which("runuser", path=path)


class Cluster:
    """``initdb`` + ``pg_ctl start`` in a temp dir, trust auth on 127.0.0.1 only, tuned for throwaway speed."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="rootly-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        self.started = False
        self.options = ""

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = [runuser() or "runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=START_TIMEOUT, check=False)

    def start(self) -> str:
        if self.as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        done = self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-2000:]}")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self.options = options
        log = self.root / "server.log"
        done = self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
        if done.returncode:
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else done.stderr
            raise RuntimeError(f"PostgreSQL did not start: {detail.strip()}")
        self.started = True
        atexit.register(self.stop)  # even if the session is interrupted
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pause(self) -> None:
        """``pg_ctl stop -m fast``: every connection is closed; new ones are refused until :meth:`resume`."""
        done = self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        if done.returncode:
            raise RuntimeError(f"PostgreSQL did not stop: {done.stderr.strip()}")

    def resume(self) -> None:
        """Start the cluster again after :meth:`pause`, on the same port and settings; returns once it accepts."""
        log = str(self.root / "server.log")  # the server must not inherit our pipes
        done = self._run("pg_ctl", "-D", str(self.data), "-o", self.options, "-l", log, "-w", "-t", "60", "start")
        if done.returncode:
            raise RuntimeError(f"PostgreSQL did not start again: {done.stderr.strip()}")

    def stop(self) -> None:
        if self.started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database; skips (fails under CI) when none can be had."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[test]' brings it)")
    configured = os.environ.get("TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    bindir = server_binaries()
    if bindir is None:
        _unavailable("PostgreSQL tests need TEST_POSTGRES_URL or the postgresql package (apt-get install postgresql)")
    if os.geteuid() == 0 and runuser() is None:
        _unavailable("running as root, PostgreSQL's initdb needs runuser to switch to the postgres user")
    cluster = Cluster(bindir)
    try:
        url = cluster.start()
    except (RuntimeError, KeyError, subprocess.TimeoutExpired) as exc:
        cluster.stop()
        _unavailable(f"could not start a throwaway PostgreSQL: {exc}")
    try:
        yield url
    finally:
        cluster.stop()


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server, dropped (with its connections) afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A database of the test's own on the session's PostgreSQL."""
    with fresh_database(postgres_server) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Store tests run twice: on a SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    with fresh_database(server) as url:
        yield url


def own_cluster() -> Iterator[tuple[Cluster, str]]:
    """A PostgreSQL cluster of the test's own, which it may stop and start (the shared one must stay up): for a
    pytest fixture (``cluster = pytest.fixture(own_cluster)``); skips with the reason when none can be started."""
    bindir = server_binaries()
    if bindir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("needs the PostgreSQL server binaries to start (and restart) a cluster of its own")
    own = Cluster(bindir)
    try:
        url = own.start()
    except RuntimeError as exc:
        own.stop()
        pytest.skip(f"could not start PostgreSQL: {exc}")
    try:
        yield own, url
    finally:
        own.stop()
