"""A throwaway PostgreSQL server for tests: a new cluster in a temporary directory, listening on a
free port of 127.0.0.1 only, stopped and removed when the test is done.

The binaries come from the ``pgserver`` wheel (``pip install pgserver``: PostgreSQL built to run
from wherever it lies) or from ``initdb`` and ``postgres`` on ``PATH``. PostgreSQL refuses to run
as root; as root the cluster belongs to the unprivileged ``nobody`` and its processes run as
``nobody`` (``subprocess``'s ``user=``), with a copy of the binaries in the temporary directory when
``nobody`` cannot reach the installed ones. Nothing outside the temporary directory is changed: no
user is made, no permission widened.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PostgresUnavailable", "Server", "find_binaries", "running_server"]

#: The unprivileged user the cluster belongs to when the tests run as root.
UNPRIVILEGED = "nobody"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why (a reason to skip)."""


@dataclass(frozen=True)
class Server:
    """A running server: superuser ``postgres``, no password (trust), on ``127.0.0.1:port``."""

    port: int
    log: Path

    def url(self, database: str, driver: str = "psycopg2") -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> Any:
        """A psycopg2 connection to ``database`` (autocommit)."""
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, connect_timeout=5
        )
        connection.autocommit = True
        return connection

    def create_database(self, name: str) -> None:
        """``CREATE DATABASE name``."""
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``: pgserver's, else ``PATH``'s, else none."""
    spec = importlib.util.find_spec("pgserver")  # its folder, without importing it
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "pginstall" / "bin"
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).parent / "postgres").is_file():
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


class _Runner:
    """Runs PostgreSQL's programs as an unprivileged user when this process is root."""

    def __init__(self, base: Path, binaries: Path) -> None:
        self.base = base
        self.binaries = binaries
        self.identity: dict[str, Any] = {}
        if os.geteuid() != 0:
            return
        import pwd

        try:
            entry = pwd.getpwnam(UNPRIVILEGED)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root and there is no user {UNPRIVILEGED!r} to run PostgreSQL as"
            ) from None
        self.identity = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        os.chown(base, entry.pw_uid, entry.pw_gid)
        if not self._reachable():  # e.g. a virtual environment under /root (mode 0700)
            if binaries.parent.name != "pginstall":  # not pgserver's: nothing to copy
                raise PostgresUnavailable(
                    f"running as root and user {UNPRIVILEGED!r} cannot run {binaries / 'postgres'}"
                )
            self.binaries = self._copy_pgserver(binaries)
            if not self._reachable():
                raise PostgresUnavailable(
                    f"user {UNPRIVILEGED!r} cannot run a copy of {binaries / 'postgres'}"
                )

    def _copy_pgserver(self, binaries: Path) -> Path:
        """Copy pgserver's ``pginstall`` and the libraries its programs find at
        ``$ORIGIN/../../../pgserver.libs`` into the temporary folder; return the copy's ``bin``."""
        site = binaries.parents[2]
        copy = self.base / "site"
        shutil.copytree(site / "pgserver" / "pginstall", copy / "pgserver" / "pginstall")
        if (site / "pgserver.libs").is_dir():
            shutil.copytree(site / "pgserver.libs", copy / "pgserver.libs")
        return copy / "pgserver" / "pginstall" / "bin"

    def _reachable(self) -> bool:
        try:
            done = self.run(["postgres", "--version"], timeout=30)
        except OSError:
            return False
        return done.returncode == 0

    def command(self, program: str, *args: str) -> list[str]:
        return [str(self.binaries / program), *args]

    def run(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,
            env={**os.environ, "LC_ALL": "C"},
            **self.identity,
        )

    def start(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:
            return subprocess.Popen(
                self.command(*args),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.base,
                env={**os.environ, "LC_ALL": "C"},
                **self.identity,
            )


def _wait_ready(process: subprocess.Popen[bytes], port: int, deadline: float) -> bool:
    import psycopg2

    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            psycopg2.connect(
                host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=2
            ).close()
            return True
        except psycopg2.OperationalError:
            time.sleep(0.1)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server(limit: float = 60.0) -> Iterator[Server]:
    """Start a new cluster on a free port and yield it; stop it and remove its folder after.

    Raises
    ------
    PostgresUnavailable
        When there is no driver, no binaries, or the server is not up within ``limit`` seconds.
    """
    if os.name != "posix":
        raise PostgresUnavailable("this helper starts PostgreSQL on POSIX systems only")
    if importlib.util.find_spec("psycopg2") is None:
        raise PostgresUnavailable("no PostgreSQL driver (pip install psycopg2-binary)")
    binaries = find_binaries()
    if binaries is None:
        raise PostgresUnavailable(
            "no PostgreSQL binaries (pip install pgserver, or put initdb and postgres on PATH)"
        )
    deadline = time.monotonic() + limit
    base = Path(tempfile.mkdtemp(prefix="rpnkit-postgres-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        runner = _Runner(base, binaries)
        data, log = base / "data", base / "server.log"
        try:
            done = runner.run(
                ["initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--no-locale",
                 "--encoding=UTF8", "--no-sync"],
                timeout=max(1.0, deadline - time.monotonic()),
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise PostgresUnavailable(f"initdb from {binaries} took over {limit:.0f} s") from None
        if done.returncode != 0:
            reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise PostgresUnavailable(f"initdb from {binaries} failed: {reason[0]}")
        for _ in range(3):  # another process may take the free port before the server does
            port = _free_port()
            process = runner.start(
                ["postgres", "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
                 "-c", "unix_socket_directories=", "-c", "fsync=off"],
                log,
            )  # fmt: skip
            if _wait_ready(process, port, deadline):
                break
            _stop(process)
            process = None
            if time.monotonic() >= deadline:
                break
        if process is None:
            raise PostgresUnavailable(
                f"PostgreSQL from {binaries} did not start within {limit:.0f} s: {_tail(log)}"
            )
        yield Server(port=port, log=log)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(base, ignore_errors=True)
