"""A table synchronises only when it declares who owns it, its fields and what each of its
foreign keys may point at (app/models/ownership.py): checked over the metadata."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Column, ForeignKey, MetaData, String, Table, Uuid

from app.models.ownership import FOREIGN_KEYS, TABLE_OWNER, Owner, Target, undeclared
from central.sync.tables import model_of, parent_columns
from kernel import wire


def test_every_synchronised_table_declares_its_owner_fields_and_foreign_keys() -> None:
    synced = {t.name for t in wire.synced_tables()}
    assert synced == set(TABLE_OWNER)
    problems = [p for t in wire.synced_tables() for p in undeclared(t, synced)]
    assert problems == []
    for name in synced:
        model_of(name)  # applied on central
        for column in parent_columns(name):
            if column != "agency_id":
                assert FOREIGN_KEYS[(name, column)] in Target


def test_a_table_with_an_undeclared_foreign_key_does_not_synchronise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    metadata = MetaData()
    Table("account", metadata, Column("id", Uuid, primary_key=True))
    Table("agency", metadata, Column("id", Uuid, primary_key=True))
    novel = Table("promise", metadata, Column("id", Uuid, primary_key=True),
                  Column("agency_id", Uuid, ForeignKey("agency.id")),
                  Column("account_id", Uuid, ForeignKey("account.id")),
                  Column("promised_by", Uuid, ForeignKey("account.id")),
                  Column("note", String(10)))
    monkeypatch.setitem(TABLE_OWNER, "promise", Owner.AGENCY)
    monkeypatch.setitem(FOREIGN_KEYS, ("promise", "account_id"), Target.AGENCY)
    synced = {"account", "agency", "promise"}
    assert undeclared(novel, synced) == [
        "promise.promised_by: foreign key without a declared target"]
    monkeypatch.setitem(FOREIGN_KEYS, ("promise", "promised_by"), Target.AGENCY)
    assert undeclared(novel, synced) == []
    monkeypatch.setitem(FOREIGN_KEYS, ("promise", "note"), Target.AGENCY)
    assert undeclared(novel, synced) == [
        "promise.note: declared as a foreign key but is none"]
    unowned = Table(f"t_{uuid.uuid4().hex[:6]}", metadata, Column("id", Uuid, primary_key=True))
    assert undeclared(unowned, {"account"}) == [f"{unowned.name}: no owner in TABLE_OWNER"]
    ownerless = Table("commune", MetaData(), Column("id", Uuid, primary_key=True))
    assert undeclared(ownerless, set()) == ["commune: no agency_id column (whose row is it?)"]
