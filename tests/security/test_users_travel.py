"""Head-office users' password hashes reach only the desks where those users sign in, and the
demo's users never travel (finding 2, the part about users). Agency 101 asks central every way
a desk can (changes, bootstrap rows in both forms, the users list, reconciliation) and gets its
own users and the roaming head-office ones, never another agency's, never a head-office user
that does not roam; a demo desk adopted by central keeps its users to itself."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.models import User
from app.models.database import Database
from app.models.enums import Role
from app.services.auth import sign_in
from central.users import add_user, set_roaming
from kernel import wire
from kernel.errors import ValidationError
from tests.central.conftest import central_pg_template, central_pg_url  # noqa: F401
from tests.central.sync.kit import Central, build_central

PASSWORD = "Mot-de-passe-2026"


@pytest.fixture
def central(central_pg_url: str, tmp_path: Path) -> Iterator[Central]:  # noqa: F811
    """Central on PostgreSQL with agencies 101 and 102, served in process."""
    database = Database(central_pg_url)
    try:
        yield from build_central(database, tmp_path)
    finally:
        database.dispose()


@pytest.fixture
def users(central: Central) -> Iterator[dict[str, str]]:  # noqa: F811
    made = {
        "siege.fixe": add_user(central.db, "siege.fixe", "Siège sans poste",
                               Role.ADMINISTRATOR, PASSWORD, None),
        "siege.itinerant": add_user(central.db, "siege.itinerant", "Siège partout",
                                    Role.ADMINISTRATOR, PASSWORD, None, roaming=True),
        "agent.101": add_user(central.db, "agent.101", "Agent 101", Role.AGENT, PASSWORD,
                              "101"),
        "agent.102": add_user(central.db, "agent.102", "Agent 102", Role.AGENT, PASSWORD,
                              "102"),
    }
    yield {name: str(info.id) for name, info in made.items()}


def _seen_by(central: Central, code: str) -> dict[str, set[str]]:  # noqa: F811
    """The user ids an agency's desk receives, by each way it can ask."""
    desk = central.desks[code]
    changes = desk.get("changes", after=0, limit=20000)
    in_changes = {e["row"] for c in changes["commits"] for e in c["entries"]
                  if e["table"] == "app_user" and e["op"] != "delete"}
    hashes = {e["changes"]["password_hash"][1] for c in changes["commits"]
              for e in c["entries"] if e["table"] == "app_user"
              and "password_hash" in e["changes"]}
    rows = {r["id"] for r in desk.get("rows/app_user", limit=5000)["rows"]}
    stored: dict[str, Any] = desk.get("rows/app_user", limit=5000, form="stored")
    position = stored["columns"].index("id")
    in_stored = {str(uuid.UUID(r[position])) for r in stored["rows"]}
    listed = desk.client.get(f"/agencies/{code}/users", headers=desk.auth)
    assert listed.status_code == 200
    in_list = {u["id"] for u in listed.json()}
    count = desk.get("reconcile")["tables"]["app_user"]["count"]
    assert len(hashes) == len(in_changes), "one hash per user that travels"
    return {"changes": in_changes, "rows": rows, "stored": in_stored, "list": in_list,
            "count": {str(count)}}


def test_users_reach_only_the_desks_where_they_sign_in(
        central: Central, users: dict[str, str]) -> None:  # noqa: F811
    for code, own in (("101", "agent.101"), ("102", "agent.102")):
        expected = {users[own], users["siege.itinerant"]}
        seen = _seen_by(central, code)
        for way in ("changes", "rows", "stored", "list"):
            assert seen[way] == expected, (code, way)
        assert seen["count"] == {"2"}


def test_a_roaming_user_turned_off_stops_travelling(
        central: Central, users: dict[str, str]) -> None:  # noqa: F811
    set_roaming(central.db, "siege.itinerant", False)
    seen = _seen_by(central, "101")
    for way in ("changes", "rows", "stored", "list"):
        assert seen[way] == {users["agent.101"]}, way
    assert seen["count"] == {"1"}, "the desk's reconciliation drops the user"
    set_roaming(central.db, "siege.fixe", True)
    assert users["siege.fixe"] in _seen_by(central, "102")["changes"]
    with pytest.raises(ValidationError):
        set_roaming(central.db, "agent.101", True)
    with pytest.raises(ValidationError):
        add_user(central.db, "agent.mixte", "Mixte", Role.AGENT, PASSWORD, "101", roaming=True)


def test_the_desk_scope_keeps_demo_users_out_of_every_exchange(tmp_path: Path,
                                                               sqlite_url: str) -> None:
    """On a demo desk, the users are ``desk_only``: adoption (which reads the agency's scope)
    sends none of them, the reconciliation neither counts nor removes them, and they sign in."""
    from tests.conftest import make_demo

    db = Database(sqlite_url)
    try:
        make_demo(db)
        table = wire.table("app_user")
        with db.reading() as session:
            agency_id = session.scalars(select(User.agency_id).where(
                User.username == "agent")).one()
            everyone = set(session.scalars(select(User.username)))
            in_scope = list(session.execute(select(table.c.username).where(
                wire.scope(table, agency_id))).scalars())
        assert {"admin", "superviseur", "agent"} <= everyone
        assert in_scope == []
        assert sign_in(db, "admin", "Guichet-Admin-2026").role is Role.ADMINISTRATOR
    finally:
        db.dispose()


def test_a_demo_desk_adopted_by_central_keeps_its_users(tmp_path: Path,
                                                      sqlite_url: str) -> None:
    """The whole night against a real central: the demo's reference data is imported and its
    agency adopted, its users (whose passwords the README publishes) are not; they still sign
    in on their desk afterwards."""
    from app.services.installation import load_installation
    from app.settings import Settings
    from app.sync.endpoint import Endpoint
    from app.sync.runner import run_sync
    from tests.conftest import make_demo
    from tests.security.served import central_cli, served

    desk = Database(sqlite_url)
    try:
        make_demo(desk, customers=5)
        settings = Settings(data_dir=tmp_path / "desk", central_url="off", demo_customers=0)
        installation = load_installation(desk, settings)
        with served(tmp_path / "central", agency_id=str(installation.agency_id)) as server:
            # The operator gives central the shared reference data of the desk (its
            # head-office users included, the demo's left out).
            imported = central_cli(tmp_path / "central", "reference", "import", sqlite_url)
            assert imported.returncode == 0, imported.stderr
            endpoint = Endpoint(server.url, server.credential, "101")
            first = run_sync(desk, installation, endpoint, data_dir=tmp_path / "desk")
            assert first.status == "succeeded", first.message
            again = run_sync(desk, installation, endpoint, data_dir=tmp_path / "desk")
            assert again.status == "succeeded", again.message
        central_db = Database(f"sqlite:///{tmp_path / 'central' / 'central.sqlite3'}")
        try:
            with central_db.reading() as session:
                assert list(session.scalars(select(User.username))) == []
                from app.models import Customer
                assert len(list(session.scalars(select(Customer.id)))) == 5, "adopted"
        finally:
            central_db.dispose()
        assert sign_in(desk, "admin", "Guichet-Admin-2026").role is Role.ADMINISTRATOR
        assert sign_in(desk, "agent", "Guichet-Agent-2026").role is Role.AGENT
    finally:
        desk.dispose()


def test_roaming_is_an_explicit_choice_on_the_command_line(tmp_path: Path) -> None:
    from tests.security.served import central_cli, env

    folder = tmp_path / "central"
    assert central_cli(folder, "agency", "add", "101", "Agence").returncode == 0

    def user(*args: str) -> tuple[int, str]:
        done = subprocess.run(
            [sys.executable, "-m", "central", "--data-dir", str(folder), "user", *args],
            input="Mot-de-passe-2026\n", capture_output=True, text=True,
            cwd=Path(__file__).resolve().parents[2], env=env(), timeout=120, check=False)
        return done.returncode, done.stdout + done.stderr

    assert user("add", "siege.fixe", "--name", "Fixe", "--role", "administrator",
                "--password-stdin") == (0, "Agent siege.fixe créé (administrateur, siège, "
                                           "envoyé à aucun poste).\n")
    code, text = user("add", "siege.mobile", "--name", "Mobile", "--roaming", "--password-stdin")
    assert code == 0 and "siège, itinérant" in text
    code, text = user("add", "agent.x", "--name", "X", "--agency", "101", "--roaming",
                      "--password-stdin")
    assert code == 1 and "itinérant" in text
    assert user("roaming", "siege.fixe", "on")[0] == 0
    code, text = user("list")
    assert "siège*" in text
