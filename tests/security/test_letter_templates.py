"""Letter templates over the sync (issue 20): an agency's own template goes up to central as
its row, another agency can neither read it (it never travels to that agency's desk) nor
overwrite, delete or claim it; central's shipped templates (no agency) stay central's (that
they travel to every agency: tests/central/sync/test_reference_import.py)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.models import LetterTemplate
from resources.letters.shipped import SHIPPED, build
from tests.security.conftest import Attacker, Scene


def _stored(scene: Scene, row: uuid.UUID) -> LetterTemplate | None:
    with scene.db.reading() as session:
        found = session.get(LetterTemplate, row)
        if found is not None:
            _ = found.content
            session.expunge(found)
        return found


CONTENT = build(SHIPPED[0])


def _template(who: Attacker, row: uuid.UUID, name: str, **values: Any) -> dict[str, Any]:
    return who.insert("letter_template", {
        "code": "RELANCE_102", "name": name, "category": "Recouvrement", "revision": 1,
        "content": CONTENT, "is_active": True, "revised_by": "Agent 102", **values},
        row=row)


def test_an_agency_template_goes_up_and_stays_its_own(scene: Scene) -> None:
    head = scene.head()
    row = uuid.uuid4()
    assert scene.b.send([_template(scene.b, row, "Relance de l'agence 102")])["applied"] == 1
    stored = _stored(scene, row)
    assert stored is not None
    assert (stored.agency_id, stored.name, stored.content) == (
        scene.template.agency_b, "Relance de l'agence 102", CONTENT)
    # A new revision made at the desk goes up too.
    answer = scene.b.send([scene.b.update("letter_template", row, stored.version, {
        "revision": (1, 2), "name": ("Relance de l'agence 102", "Relance 102 (rév. 2)")})])
    assert answer["applied"] == 1, answer
    assert _stored(scene, row).name == "Relance 102 (rév. 2)"  # type: ignore[union-attr]
    # Agency 101 never receives it …
    assert all(e["row"] != str(row) for e in scene.a.changes_after(head))
    # … and cannot overwrite, delete or claim it, nor add one under 102's name.
    current = _stored(scene, row)
    assert current is not None
    attacks = [
        scene.a.update("letter_template", row, current.version,
                       {"name": (current.name, "Modèle piraté")}),
        scene.a.entry("letter_template", row, "delete", {}, base=current.version,
                      new=current.version + 1),
        scene.a.entry("letter_template", row, "insert", {
            "agency_id": [None, str(scene.a_id)], "code": [None, "X"], "name": [None, "X"]},
            new=current.version + 5),
        _template(scene.a, uuid.uuid4(), "Glissé chez 102", agency_id=scene.template.agency_b),
    ]
    before = scene.snapshot()
    answer = scene.a.send(attacks)
    assert answer["applied"] == 0, answer
    after = scene.snapshot()
    for owner in ("B", "shared", "C"):
        assert after.of(owner) == before.of(owner), owner
    assert _stored(scene, row).name == "Relance 102 (rév. 2)"  # type: ignore[union-attr]


def test_centrals_shipped_templates_cannot_be_rewritten_by_an_agency(scene: Scene) -> None:
    with scene.db.reading() as session:
        shipped = session.scalars(select(LetterTemplate).where(
            LetterTemplate.agency_id.is_(None)).order_by(LetterTemplate.code)).first()
        assert shipped is not None, "the demo's central holds the shipped templates"
        row, version, name = shipped.id, shipped.version, shipped.name
    before = scene.snapshot()
    answer = scene.b.send([
        scene.b.update("letter_template", row, version, {"name": (name, "Modèle remplacé")}),
        scene.b.entry("letter_template", row, "delete", {}, base=version, new=version + 1),
        scene.b.entry("letter_template", uuid.uuid4(), "insert", {
            "agency_id": [None, None], "code": [None, "FAUX"], "name": [None, "Faux modèle"],
            "revision": [None, 1], "is_active": [None, True]}),
    ])
    assert answer["applied"] == 0, answer
    assert scene.snapshot().of("shared") == before.of("shared")
    assert _stored(scene, row).name == name  # type: ignore[union-attr]
