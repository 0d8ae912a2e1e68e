"""The recovery paths against the real server on 127.0.0.1 (PostgreSQL central): central commits
numbered whatever the flush state, counters after a bootstrap, reconciliation by content, the
agency's own values kept at set-up, and the one-line messages and exit codes of a run that
cannot go on."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from app.models import Agency, Customer
from app.models.database import Database
from app.sync import failures
from tests.sync.conftest import ROOT, Central, Desk, make_desk
from tests.sync.world import assert_numbered, customers, day_of_business


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def test_a_central_commit_with_its_changes_unflushed_is_numbered(desk: Desk, central: Central
                                                                  ) -> None:
    """A central program that edits through the ORM and commits without flushing (nothing else
    imported that would flush first): its commit is numbered and the download carries it."""
    assert desk.sync().status == "succeeded"
    someone = customers(desk.db)[2]
    script = textwrap.dedent(f"""
        import uuid
        import central.sync.numbering  # noqa: F401  (the only hook: nothing else flushes first)
        from app.models import Customer
        from app.models.capture import Actor, set_actor
        from app.models.database import Database
        db = Database({central.db_url!r})
        with db.session() as session:
            set_actor(session, Actor(username="siège"))
            customer = session.get(Customer, uuid.UUID({str(someone.id)!r}))
            customer.email = "non-vidé@example.ci"
            session.commit()
        db.dispose()
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    central_db = Database(central.db_url)
    try:
        assert_numbered(central_db, someone.id)
    finally:
        central_db.dispose()
    night = desk.sync()
    assert night.status == "succeeded", night.message
    assert night.mismatches == [] and night.rows_down >= 1
    with desk.db.session() as session:
        assert session.scalars(select(Customer.email).where(Customer.id == someone.id)
                               ).one() == "non-vidé@example.ci"


def test_a_row_equal_in_version_but_not_in_content_is_seen_and_repaired(
        desk: Desk, central: Central) -> None:
    """Central's copy of a customer changed behind the journal (same version, another e-mail):
    the reconciliation sees it by content and the desk takes central's row."""
    assert desk.sync().status == "succeeded"
    someone = customers(desk.db)[3]
    central_db = Database(central.db_url)
    try:
        with central_db.engine.begin() as connection:
            connection.execute(update(Customer).where(Customer.id == someone.id)
                               .values(email="hors-journal@example.ci"))
    finally:
        central_db.dispose()
    night = desk.sync()
    assert night.status == "succeeded", night.message
    assert night.mismatches == ["customer"]
    with desk.db.session() as session:
        mine = session.get(Customer, someone.id)
        assert mine is not None
        assert (mine.email, mine.version) == ("hors-journal@example.ci", someone.version)
    assert desk.sync().mismatches == []


def test_the_agency_set_up_at_central_takes_the_desks_details_at_adoption(
        desk: Desk, central: Central) -> None:
    """``central agency ensure --id`` made the agency with its code and name only: adoption
    takes the desk's address, phone and e-mail, and neither side's values are blanked."""
    with desk.db.session() as session:
        ours = session.get(Agency, desk.installation.agency_id)
        assert ours is not None and ours.address and ours.phone and ours.email
        details = (ours.address, ours.phone, ours.email)
    central_db = Database(central.db_url)
    try:
        with central_db.session() as session:
            theirs = session.get(Agency, desk.installation.agency_id)
            assert theirs is not None and (theirs.address, theirs.phone) == ("", "")
        first = desk.sync()
        assert first.status == "succeeded", first.message
        with central_db.session() as session:
            theirs = session.get(Agency, desk.installation.agency_id)
            assert theirs is not None
            assert (theirs.address, theirs.phone, theirs.email) == details
        with desk.db.session() as session:
            ours = session.get(Agency, desk.installation.agency_id)
            assert ours is not None and (ours.address, ours.phone, ours.email) == details
        assert first.mismatches == []
        assert desk.sync().mismatches == []
    finally:
        central_db.dispose()


def _sync_process(desk: Desk, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    clean.update(GUICHET_CENTRAL_CREDENTIAL=desk.endpoint.credential,
                 GUICHET_DEMO_CUSTOMERS="0", **env)
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(desk.data_dir), "--database-url",
         desk.db.url, "--central-url", desk.endpoint.url, "sync"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=300, check=False)


def _one_french_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    return lines[0]


def _overwrite_a_page(path: Path) -> None:
    with sqlite3.connect(path) as check:
        page_size = check.execute("PRAGMA page_size").fetchone()[0]
        pages = check.execute("PRAGMA page_count").fetchone()[0]
        root = check.execute("SELECT rootpage FROM sqlite_master WHERE name = 'customer'"
                             ).fetchone()[0]
    assert pages > root
    with open(path, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(bytes(random.Random(11).randrange(256) for _ in range(page_size)))


def _truncate(path: Path) -> None:
    with open(path, "r+b") as file:
        file.truncate(path.stat().st_size // 3)


@pytest.mark.parametrize("damage", [_truncate, _overwrite_a_page], ids=["truncated", "page"])
def test_a_damaged_desk_database_says_how_to_rebuild_it_and_that_works(
        desk: Desk, central: Central, damage: Callable[[Path], None]) -> None:
    assert desk.sync().status == "succeeded"
    path = Path(make_url(desk.db.url).database or "")
    desk.db.dispose()
    damage(path)
    done = _sync_process(desk)
    line = _one_french_line(done)
    assert done.returncode == 5, done.stderr
    assert "endommagée" in line and str(path) in line
    join = f"python -m app --agency 101 join {desk.endpoint.url}"
    assert join in line
    if damage is _overwrite_a_page:
        return  # the rebuild is followed once, below, for the truncated file
    path.rename(path.with_name(path.name + ".endommagee"))  # what the line says to do
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    rebuilt = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(desk.data_dir), "--database-url",
         desk.db.url, *join.split()[3:]], cwd=ROOT, capture_output=True, text=True,
        timeout=300, check=False,
        env={**clean, "GUICHET_CENTRAL_CREDENTIAL": desk.endpoint.credential})
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert _sync_process(desk).returncode == 0
    assert len(customers(desk.db)) == 20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB file system of its own (tmpfs), to be filled up."""
    where = tmp_path / "petit-disque"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(where)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here: {mounted.stderr.strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(where: Path, leave: int) -> Path:
    """Fills the file system up, then gives ``leave`` bytes back."""
    filler = where / "remplissage"
    with open(filler, "wb", buffering=0) as file:
        size = 1 << 20
        while size:
            try:
                file.write(b"\0" * size)
            except OSError:
                size //= 2
    if leave > 0:
        os.truncate(filler, filler.stat().st_size - leave)
    return filler


@pytest.mark.parametrize("free", [0, 96 * 1024], ids=["0-octet", "presque-plein"])
def test_a_full_disk_says_so_in_one_line_and_the_run_after_space_is_freed_goes_through(
        central: Central, small_disk: Path, free: int) -> None:
    desk = make_desk(central, f"sqlite:///{small_disk / 'guichet.sqlite3'}",
                     small_disk / "donnees", customers=20)
    try:
        assert desk.sync().status == "succeeded"
        day_of_business(desk, 3)
        desk.db.dispose()
        filler = _fill(small_disk, free)
        assert shutil.disk_usage(small_disk).free <= free + 4096
        done = _sync_process(desk)
        line = _one_french_line(done)
        assert done.returncode == 4, done.stderr
        assert "disque plein" in line and "Libérez de la place" in line
        filler.unlink()
        again = _sync_process(desk)
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        desk.db.dispose()


def test_the_failures_of_real_databases_are_classified(tmp_path: Path) -> None:
    """The errors the databases and the system really raise, each with its line and code."""
    url = f"sqlite:///{tmp_path / 'petite.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (n INTEGER PRIMARY KEY, x TEXT)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1, 'un')")
    with pytest.raises(IntegrityError) as duplicate, engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t VALUES (1, 'encore')")
    with pytest.raises(OperationalError) as full, engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA max_page_count = 3")
        for n in range(2, 200):
            connection.exec_driver_sql(f"INSERT INTO t VALUES ({n}, '{'x' * 2000}')")
    engine.dispose()
    with pytest.raises(OSError) as no_space, open("/dev/full", "wb") as device:
        device.write(b"x")
        device.flush()
    for error, code in ((full.value, failures.DISK_FULL), (no_space.value, failures.DISK_FULL)):
        failure = failures.classify(error, url)
        assert failure is not None and failure.code == code and "disque plein" in failure.message
    stuck = failures.classify(duplicate.value, url)
    assert stuck is not None and stuck.code == failures.INCONSISTENT
    caught_up = failures.classify(duplicate.value, url, restored=True)
    assert caught_up is not None and caught_up.code == failures.RETRY
    assert "restauré" in caught_up.message
    assert failures.classify(ValueError("un bogue"), url) is None
