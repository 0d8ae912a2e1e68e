"""The PostgreSQL server the tests use: the one at ``GUICHET_TEST_PG_URL`` (default
127.0.0.1:5432) when it answers, otherwise a private throw-away cluster made in a temporary folder
with the machine's PostgreSQL binaries (Debian's ``postgresql`` package, which ``./guichet test``
installs when it runs as root), started on a free port and removed at the end of the session.

So the PostgreSQL half of the suite runs on every machine that has the binaries, not only on one
where a server happens to be running.
"""

from __future__ import annotations

import glob
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class NoPostgres(Exception):
    """Neither a server answers nor can one be started here (the message says what to install)."""


def configured_url() -> str:
    return os.environ.get("GUICHET_TEST_PG_URL", DEFAULT_URL)


def answers(url: str) -> str | None:
    """None when the server at ``url`` accepts a query, else the reason it does not."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "not usable"
        return str(error).strip().splitlines()[0]
    finally:
        engine.dispose()
    return None


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl (on PATH, or Debian's versioned folders)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


def _is_root() -> bool:
    return getattr(os, "geteuid", lambda: 1)() == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivateCluster:
    """A cluster of our own: ``initdb`` in a temporary folder, ``pg_ctl start`` on a free port.

    ``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` account
    (which Debian's package creates) and every command runs through ``runuser``.
    """

    bin_dir: Path
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="guichet-pg-")))
    port: int = field(default_factory=_free_port)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix: list[str] = []
        if _is_root():
            prefix = ["runuser", "-u", "postgres", "--"]
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, check=False,
                              timeout=120)
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise NoPostgres(f"{' '.join(command)} a échoué : {done.stderr.strip()} {tail}")

    def start(self) -> str:
        if _is_root():
            import pwd

            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise NoPostgres("le compte « postgres » manque (paquet postgresql)") from None
            os.chmod(self.folder, 0o700)
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        data = self.folder / "data"
        self._run(str(self.bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-locale", "--no-sync")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off -c synchronous_commit=off "
                   "-c max_connections=200")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
                  "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start")
        return self.url

    def stop(self) -> None:
        data = self.folder / "data"
        try:
            if (data / "postmaster.pid").exists():
                self._run(str(self.bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                          "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class Server:
    """Resolved once per session, on first use: the URL of an administrator connection."""

    def __init__(self) -> None:
        self._url: str | None = None
        self._failure: str | None = None
        self.cluster: PrivateCluster | None = None

    def url(self) -> str:
        if self._url is not None:
            return self._url
        if self._failure is not None:
            raise NoPostgres(self._failure)
        wanted = configured_url()
        reason = answers(wanted)
        if reason is None:
            self._url = wanted
            return wanted
        bin_dir = binaries()
        if bin_dir is None:
            self._failure = (
                f"aucun serveur PostgreSQL ne répond sur {make_url(wanted).render_as_string()} "
                f"({reason}) et initdb est introuvable pour en démarrer un : installez le paquet "
                "postgresql (./guichet test le fait quand il est lancé en root)")
            raise NoPostgres(self._failure)
        self.cluster = PrivateCluster(bin_dir)
        try:
            self._url = self.cluster.start()
        except NoPostgres as error:
            self.cluster.stop()
            self.cluster = None
            self._failure = f"serveur PostgreSQL privé impossible à démarrer : {error}"
            raise NoPostgres(self._failure) from None
        os.environ["GUICHET_TEST_PG_URL"] = self._url  # for the subprocesses of the tests
        return self._url

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None


SERVER = Server()


class Dropper:
    """Drops the tests' databases in a thread of its own. ``DROP DATABASE`` forces a checkpoint
    of the whole server (seconds when the server is busy): no test needs to wait for it, so a
    test's teardown only queues the name. ``finish`` (end of the session, before the server
    stops) waits until every queued database is gone."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def drop(self, name: str) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pg-dropper", daemon=True)
                self._thread.start()
        self._queue.put(name)

    def _run(self) -> None:
        engine = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
        try:
            while (name := self._queue.get()) is not None:
                try:
                    with engine.connect() as connection:
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                except Exception:  # noqa: BLE001,S110 - a leftover database harms no test
                    pass
        finally:
            engine.dispose()

    def finish(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=900)


DROPPER = Dropper()


def admin_url() -> str:
    return SERVER.url()


def database_url(name: str) -> str:
    return admin_url().rsplit("/", 1)[0] + f"/{name}"
