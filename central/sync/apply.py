"""Applying an agency's entries on central (docs/sync.md, "How central applies an entry").

Each desk transaction is applied in a savepoint, its entries in order. An entry that fails
parks its whole transaction; one that touches a parked row, or points at one, waits with it.
Every entry gets one outcome: ``applied``, ``skipped``, ``merged``, ``conflict``, ``parked`` or
``refused``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.models import (
    SCHEMA_VERSION,
    InstallationSetting,
    SyncConflict,
    Synced,
    SyncJournalEntry,
    SyncParked,
)
from app.models.ids import utcnow
from app.models.ownership import QUEUES, TABLE_OWNER, Owner, Target, agency_may_change, target_of
from app.models.sync import ParkedStatus
from central.models import SyncCommit
from central.sync import bulk, conflicts, integration, parking, values
from central.sync.merge import Decision, changed_since, decide
from central.sync.parking import ParkedIndex, ParkError, Refusal
from central.sync.recording import Recorder
from central.sync.state import Agency
from central.sync.tables import (
    BOOKKEEPING,
    UnknownTable,
    get_value,
    jsonable,
    model_of,
    parent_columns,
    set_value,
)
from kernel import wire
from kernel.errors import GuichetError, environment_problem
from kernel.money import Currency
from kernel.numbering import cover_central

#: What an agency's own row takes from its desk at adoption when central left it empty.
ADOPTED_DETAILS = frozenset({"address", "phone", "email"})
OUTCOMES = ("applied", "skipped", "merged", "conflict", "parked", "refused")
_MAX_RETRY_ROUNDS = 50


@dataclass
class Failure:
    index: int
    error: str


@dataclass
class Outcome:
    entry: dict[str, Any]
    outcome: str
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.entry.get("seq"), "table": self.entry.get("table"),
                "row": self.entry.get("row"), "outcome": self.outcome, "detail": self.detail}


def transactions(entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Entries grouped by desk transaction, in the order the transactions first appear."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for entry in entries:
        groups.setdefault(entry.get("tx"), []).append(entry)
    return list(groups.values())


def as_uuid(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID, or None when it is not one (a malformed entry parks later)."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _old_value(table: Any, column: str, value: Any) -> Any:
    """The value a desk says a field had: only ever kept in a conflict's record, so taken as
    it came when it is not one central would write (a binary field's old value is journaled as
    its size)."""
    try:
        return values.to_python(table, column, value)
    except ParkError:
        return value


def installation_limits(session: Session) -> values.Limits:
    code = session.scalar(select(InstallationSetting.value).where(
        InstallationSetting.key == "currency"))
    return values.Limits(Currency.of(code or "XOF"), utcnow())


def _error_text(error: Exception) -> str:
    if isinstance(error, ParkError):
        return str(error)
    if isinstance(error, GuichetError):
        return error.message
    if isinstance(error, SQLAlchemyError):
        origin = getattr(error, "orig", None) or error
        first = str(origin).strip().splitlines()[0] if str(origin).strip() else type(error).__name__
        return f"refusée par la base centrale : {first}"[:1000]
    return f"écriture impossible : {type(error).__name__}: {error}"[:1000]


@dataclass
class Applier:
    session: Session
    agency: Agency
    batch_number: int | None
    adoption: bool = False
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.index = ParkedIndex(self.session, self.agency.id)
        self._loaded: list[Synced] = []
        self._absent: set[tuple[type[Synced], uuid.UUID]] = set()
        self._accounts: set[uuid.UUID] = set()
        self._numbers: list[str] = []
        self.limits = installation_limits(self.session)

    # --- batches --------------------------------------------------------------------------
    def apply(self, entries: list[dict[str, Any]]) -> None:
        groups = transactions(entries)
        if bulk.apply(self, groups, lambda entry: Outcome(entry, "applied")):
            return
        self._prefetch(entries)
        if not self._apply_all_at_once(groups):
            for group in groups:
                self.apply_transaction(group)
        if self._accounts:
            integration.refresh_balances(Recorder(self.session, self.agency.id, eager=False),
                                         self._accounts)
        if self._numbers:
            cover_central(self.session.connection(), self._numbers)

    def _prefetch(self, entries: list[dict[str, Any]]) -> None:
        """Loads every row the batch touches or points at in one query per table, so that
        applying an entry costs no lookup round trip (rows that do not exist are noted)."""
        wanted: dict[type[Synced], set[uuid.UUID]] = {}
        for entry in entries:
            try:
                model = model_of(entry["table"])
                parents = parent_columns(entry["table"])
            except (UnknownTable, KeyError, TypeError):
                continue
            row_id = as_uuid(entry.get("row"))
            if row_id is not None:
                wanted.setdefault(model, set()).add(row_id)
            changes = entry.get("changes")
            for column, parent in parents.items():
                pair = changes.get(column) if isinstance(changes, dict) else None
                parent_id = as_uuid(pair[1]) if isinstance(pair, list) and len(pair) == 2 \
                    else None
                if parent_id is not None:
                    wanted.setdefault(model_of(parent), set()).add(parent_id)
        for model, ids in wanted.items():
            listed = list(ids)
            found: set[uuid.UUID] = set()
            for start in range(0, len(listed), 1000):
                rows = list(self.session.scalars(
                    select(model).where(model.id.in_(listed[start:start + 1000]))))
                self._loaded.extend(rows)
                found.update(row.id for row in rows)
            self._absent.update((model, row_id) for row_id in ids - found)

    def get(self, model: type[Synced], row_id: uuid.UUID) -> Synced | None:
        if (model, row_id) in self._absent:
            return None
        return self.session.get(model, row_id)

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys(OUTCOMES, 0)
        for item in self.outcomes:
            found[item.outcome] += 1
        return {"applied": found["applied"], "skipped": found["skipped"],
                "merged": found["merged"], "conflicts": found["conflict"],
                "parked": found["parked"], "refused": found["refused"]}

    def apply_transaction(self, entries: list[dict[str, Any]]) -> None:
        recorder = Recorder(self.session, self.agency.id)
        blocker = self.index.blocker(entries)
        if blocker is not None:
            parking.park(recorder, self.index, entries, 0,
                         f"en attente de l'entrée parquée {blocker}", self.batch_number, blocker)
            self.outcomes.extend(Outcome(e, "parked", "en attente") for e in entries)
            return
        recorder.eager = False
        done, failure = self._attempt(recorder, entries)
        if failure is None:
            self.outcomes.extend(done)
            return
        recorder = Recorder(self.session, self.agency.id)
        done, failure = self._attempt(recorder, entries)
        if failure is None:
            self.outcomes.extend(done)
            return
        parked = Recorder(self.session, self.agency.id)
        parking.park(parked, self.index, entries, failure.index, failure.error, self.batch_number)
        self.outcomes.extend(
            Outcome(e, "parked", failure.error if i == failure.index else "transaction parquée")
            for i, e in enumerate(entries)
        )

    def _attempt(self, recorder: Recorder, entries: list[dict[str, Any]]
                 ) -> tuple[list[Outcome], Failure | None]:
        progress = [0]
        try:
            with self.session.begin_nested():
                done = self._apply_group(recorder, entries, progress)
        except Exception as error:  # any failure parks the transaction, never the batch...
            problem = environment_problem(error)
            if problem is not None:  # ...but a lock, a full disk or a lost connection fails
                raise problem from error  # the batch: 503, the desk sends it again
            return [], Failure(progress[0], _error_text(error))
        return done, None

    def _apply_group(self, recorder: Recorder, entries: list[dict[str, Any]],
                     progress: list[int]) -> list[Outcome]:
        """Applies one desk transaction (no savepoint of its own); ``progress[0]`` follows the
        entry being applied, for the error message."""
        works = [] if self.adoption else integration.works_invoices(entries)
        integrated = {position for invoice in works for position in invoice.members}
        done: dict[int, Outcome] = {}
        for position, entry in enumerate(entries):
            progress[0] = position
            if position not in integrated:
                done[position] = self.apply_entry(recorder, entry)
        for invoice in works:
            progress[0] = invoice.invoice
            integration.integrate(recorder, entries, invoice)
            for member in invoice.members:
                done[member] = Outcome(entries[member], "applied", "facture de travaux intégrée")
        progress[0] = 0
        self._accounts.update(integration.payment_accounts(recorder, entries))
        return [done[i] for i in range(len(entries))]

    def _apply_all_at_once(self, groups: list[list[dict[str, Any]]]) -> bool:
        """The usual night: nothing parked, nothing failing. Every transaction is applied in one
        savepoint and one flush; at the first failure everything is undone and the caller
        applies transaction by transaction (each in its own savepoint, parking what fails)."""
        if any(self.index.blocker(group) is not None for group in groups):
            return False
        outcomes: list[Outcome] = []
        try:
            with self.session.begin_nested():
                for group in groups:
                    outcomes.extend(self._apply_group(
                        Recorder(self.session, self.agency.id, eager=False), group, [0]))
        except Exception as error:  # noqa: BLE001  (the careful path says which entry failed and why)
            problem = environment_problem(error)
            if problem is not None:
                raise problem from error
            self._accounts.clear()
            self.index = ParkedIndex(self.session, self.agency.id)
            return False
        self.outcomes.extend(outcomes)
        return True

    # --- one entry ------------------------------------------------------------------------
    def apply_entry(self, recorder: Recorder, entry: dict[str, Any]) -> Outcome:
        """One entry, checked against the ownership rule (docs/sync.md, "Central trusts no
        desk"): ``refused`` when it writes what the agency does not own, ``ParkError`` when a
        value or a row it points at is not acceptable."""
        if int(entry.get("schema") or 0) > SCHEMA_VERSION:
            raise ParkError(f"schéma {entry.get('schema')} plus récent que celui du central "
                            f"({SCHEMA_VERSION}) : mettez le central à jour")
        name = entry["table"]
        try:
            model = model_of(name)
        except UnknownTable as error:
            raise ParkError(f"table inconnue du central : {name}") from error
        table = wire.table(name)
        changes: dict[str, Any] = entry.get("changes") or {}
        unknown = sorted(set(changes) - set(table.c.keys()))
        if unknown:
            raise ParkError(f"champ(s) inconnu(s) de {name} : {', '.join(unknown)}")
        incoming: dict[str, tuple[Any, Any]] = {}
        for column, pair in changes.items():
            if column in BOOKKEEPING:
                continue
            if not isinstance(pair, list) or len(pair) != 2:
                raise ParkError(f"changement illisible pour {name}.{column}")
            incoming[column] = (_old_value(table, column, pair[0]),
                                values.to_python(table, column, pair[1]))
        values.check(table, {column: new for column, (_old, new) in incoming.items()},
                     self.limits)
        row_id = as_uuid(entry["row"])
        if row_id is None:
            raise ParkError(f"identifiant de ligne illisible : {str(entry['row'])[:60]}")
        operation = entry["op"]
        if self.adoption and operation != "insert":
            return Outcome(entry, "refused", "une adoption n'apporte que des insertions")
        obj = self.get(model, row_id)
        try:
            if operation == "insert":
                return self._insert(recorder, entry, model, obj, row_id, incoming)
            if operation == "update":
                return self._update(recorder, entry, obj, incoming)
            if operation == "delete":
                return self._delete(recorder, entry, obj)
        except Refusal as refusal:
            return Outcome(entry, "refused", refusal.detail)
        raise ParkError(f"opération inconnue : {operation}")

    def _foreign(self, obj: Synced) -> str | None:
        """Why the agency may not write this row of central's (None when it may)."""
        if obj.agency_id == self.agency.id:
            return None
        if obj.agency_id is None:
            return "donnée partagée, gérée par le central"
        return "ligne d'une autre agence"

    def _check_parents(self, name: str, values_: dict[str, Any]) -> None:
        """Every row these values point at exists and is one the agency may point at: its
        own, or shared reference data where the foreign key allows it."""
        for column, parent in parent_columns(name).items():
            value = values_.get(column)
            if value is None or column == "agency_id":
                continue
            row = self.get(model_of(parent), value)
            if row is None:
                raise ParkError(f"ligne parente absente : {parent} {value}")
            if row.agency_id == self.agency.id:
                continue
            if row.agency_id is None and target_of(name, column) is Target.REFERENCE:
                continue
            raise ParkError(f"ligne parente hors de l'agence : {name}.{column} désigne "
                            f"{parent} {value}, qui n'appartient pas à l'agence "
                            f"{self.agency.code}")

    def _insert(self, recorder: Recorder, entry: dict[str, Any], model: type[Synced],
                obj: Synced | None, row_id: uuid.UUID,
                incoming: dict[str, tuple[Any, Any]]) -> Outcome:
        name = entry["table"]
        if obj is not None:
            if self.adoption and name == "agency" and row_id == self.agency.id:
                return self._adopt_agency(recorder, entry, obj, incoming)
            reason = self._foreign(obj)
            if reason is not None and self.adoption and obj.agency_id is None:
                return Outcome(entry, "skipped", "donnée partagée : celle du central est gardée")
            if reason is not None:
                return Outcome(entry, "refused", reason)
            if obj.version == int(entry["new"]):
                return Outcome(entry, "skipped", "déjà présente dans cette version")
            if self.adoption:
                return Outcome(entry, "skipped", "version différente : ligne du central gardée")
            return self._merge(recorder, entry, obj, incoming, 0)
        given = {column: new for column, (_old, new) in incoming.items()}
        owner = given.get("agency_id")
        if owner is None:
            return Outcome(entry, "refused", "donnée partagée, gérée par le central")
        if owner != self.agency.id:
            return Outcome(entry, "refused", "ligne d'une autre agence")
        if name in QUEUES:
            return Outcome(entry, "refused", "file tenue par le central")
        if not self.adoption and TABLE_OWNER[name] is Owner.CENTRAL:
            return Outcome(entry, "refused", "table gérée par le central")
        self._check_parents(name, given)
        # Fields the agency may not set keep central's value (its default, or what central
        # computes); while adopting, the agency's own history is taken as it is.
        refused = {} if self.adoption else {
            column: value for column, value in given.items()
            if column != "agency_id" and not agency_may_change(name, column)}
        row = model()
        row.id = row_id
        row.version = int(entry["new"])
        table = wire.table(name)
        for column in ("created_at", "updated_at"):
            raw = (entry.get("changes") or {}).get(column, [None, None])[1] or entry.get("at")
            if raw:
                set_value(row, column, values.to_python(table, column, raw))
        for column, value in given.items():
            if column not in refused:
                set_value(row, column, value)
        recorder.insert(row)
        self._absent.discard((model, row_id))
        if name == "account":
            self._accounts.add(row_id)
        if name == "invoice":
            if given.get("number"):
                self._numbers.append(str(given["number"]))
            if given.get("account_id") is not None:
                self._accounts.add(given["account_id"])
        differs = {column: [jsonable(value), jsonable(get_value(row, column))]
                   for column, value in refused.items() if get_value(row, column) != value}
        if differs:
            recorder.update(row, {}, row.version + 1, central=True, also=differs)
            return Outcome(entry, "refused", "champ(s) gérés par le central : "
                           + ", ".join(sorted(differs)))
        return Outcome(entry, "applied")

    def _update(self, recorder: Recorder, entry: dict[str, Any], obj: Synced | None,
                incoming: dict[str, tuple[Any, Any]]) -> Outcome:
        if obj is None:
            raise ParkError(f"ligne absente du central : {entry['table']} {entry['row']}")
        reason = self._foreign(obj)
        if reason is not None:
            return Outcome(entry, "refused", reason)
        base, new = int(entry["base"]), int(entry["new"])
        if obj.version != base:
            if obj.version == new and self._already(obj, incoming) \
                    and self._echo(entry["table"], obj.id, new):
                return Outcome(entry, "skipped", "déjà appliquée")
            return self._merge(recorder, entry, obj, incoming, base)
        name = entry["table"]
        current = {column: get_value(obj, column) for column in incoming}
        decision = decide(name, incoming, current, None)
        self._check_parents(name, decision.apply)
        before = self._watched(obj)
        act = self._check_queue(recorder, entry, obj, decision, current, new)
        recorder.update(obj, decision.apply, new)
        if decision.refused:
            also = {c: [jsonable(v), jsonable(current[c])] for c, v in decision.refused.items()}
            recorder.update(obj, {}, max(obj.version, new) + 1, central=True, also=also)
        self._after_write(recorder, obj, before, act)
        if decision.refused:
            return Outcome(entry, "refused", "champ(s) gérés par le central : "
                           + ", ".join(sorted(decision.refused)))
        return Outcome(entry, "applied")
    def _already(self, obj: Synced, incoming: dict[str, tuple[Any, Any]]) -> bool:
        return all(get_value(obj, column) == new for column, (_old, new) in incoming.items())

    def _echo(self, table_name: str, row_id: uuid.UUID, version: int) -> bool:
        """Central's version ``version`` of the row is this agency's own change: the same
        number reached by an edit made at central (with equal values for the incoming fields
        by chance) is not, and its other fields must travel back by a merge."""
        j = SyncJournalEntry
        origin = self.session.execute(
            select(SyncCommit.origin_agency_id)
            .join(j, j.transaction_id == SyncCommit.transaction_id)
            .where(j.row_id == row_id, j.table_name == table_name, j.new_version == version)
            .order_by(j.seq.desc()).limit(1)
        ).first()
        return origin is not None and origin[0] == self.agency.id

    def _merge(self, recorder: Recorder, entry: dict[str, Any], obj: Synced,
               incoming: dict[str, tuple[Any, Any]], base: int) -> Outcome:
        name = entry["table"]
        table = wire.table(name)
        since = changed_since(self.session, name, obj.id, base)
        current = {column: get_value(obj, column) for column in incoming}
        decision = decide(name, incoming, current, since)
        self._check_parents(name, decision.apply)
        act = self._check_queue(recorder, entry, obj, decision, current, int(entry["new"]))
        also: dict[str, list[Any]] = {
            column: [old, jsonable(get_value(obj, column))]
            for column, old in since.items()
            if column in table.c and column not in BOOKKEEPING
        }
        for column, value in (decision.refused | {c: n for c, (_o, n) in
                                                  decision.conflicts.items()}).items():
            also[column] = [jsonable(value), jsonable(current[column])]
        for column, (old, new) in decision.conflicts.items():
            conflicts.open_conflict(recorder, obj, column, base, old, new, self.batch_number)
        before = self._watched(obj)
        recorder.update(obj, decision.apply, max(obj.version, int(entry["new"])) + 1,
                        central=True, also=also)
        self._after_write(recorder, obj, before, act)
        if decision.conflicts:
            return Outcome(entry, "conflict", "conflit sur " + ", ".join(sorted(decision.conflicts)))
        return Outcome(entry, "merged", "fusion avec les changements du central")

    def _adopt_agency(self, recorder: Recorder, entry: dict[str, Any], obj: Synced,
                      incoming: dict[str, tuple[Any, Any]]) -> Outcome:
        """The agency's own row, set up at central with its code and name only: its details
        are taken from the desk where central has none (central's stay), as a central change."""
        values = {column: new for column, (_old, new) in incoming.items()
                  if column in ADOPTED_DETAILS and new and not get_value(obj, column)}
        if not values:
            return Outcome(entry, "skipped", "déjà présente")
        recorder.update(obj, values, max(obj.version, int(entry["new"])) + 1, central=True)
        return Outcome(entry, "merged", "coordonnées de l'agence reprises du poste")

    def _delete(self, recorder: Recorder, entry: dict[str, Any], obj: Synced | None) -> Outcome:
        if obj is None:
            return Outcome(entry, "skipped", "déjà absente")
        reason = self._foreign(obj)
        if reason is not None:
            return Outcome(entry, "refused", reason)
        if TABLE_OWNER[entry["table"]] is Owner.CENTRAL:
            recorder.resend(obj)
            return Outcome(entry, "refused", "table gérée par le central")
        base = int(entry["base"])
        if obj.version == base:
            recorder.delete(obj, int(entry["new"]))
            return Outcome(entry, "applied")
        conflicts.open_conflict(recorder, obj, conflicts.WHOLE_ROW, base, None, None,
                                self.batch_number)
        recorder.resend(obj)
        return Outcome(entry, "conflict", "suppression d'une ligne changée au central")

    def _check_queue(self, recorder: Recorder, entry: dict[str, Any], obj: Synced,
                     decision: Decision, current: dict[str, Any], new: int) -> Any:
        """A supervisor's answer in central's queues, checked before anything is written: a
        conflict central opened, still open, resolved on a field the agency may change with a
        value it may write; a parked entry still waiting, retried or dropped. Returns what
        to do once the row is written; ``Refusal`` (central's values go back down) otherwise."""
        try:
            if isinstance(obj, SyncConflict):
                return conflicts.check_answer(self, obj, decision.apply)
            if isinstance(obj, SyncParked):
                return parking.check_answer(obj, decision.apply)
        except Refusal:
            asked = {column: value for column, value in decision.apply.items()
                     if current.get(column) != value}
            also = {c: [jsonable(v), jsonable(current[c])] for c, v in asked.items()}
            recorder.update(obj, {}, max(obj.version, new) + 1, central=True, also=also)
            raise
        return None

    # --- rows whose change acts: resolutions and retries ---------------------------------
    @staticmethod
    def _watched(obj: Synced) -> Any:
        return getattr(obj, "status", None)

    def _after_write(self, recorder: Recorder, obj: Synced, before: Any, act: Any) -> None:
        if isinstance(obj, SyncConflict) and conflicts.became_resolved(before, obj):
            conflicts.resolve(recorder, obj, act)
        elif isinstance(obj, SyncParked) and obj.status != before:
            if obj.status is ParkedStatus.RETRY:
                self.retry(obj.transaction_id)
            elif obj.status is ParkedStatus.DISCARDED:
                self.discard(obj.transaction_id)

    def discard(self, transaction_id: uuid.UUID) -> None:
        group = parking.waiting_group(self.session, self.agency.id, transaction_id)
        parking.settle(Recorder(self.session, self.agency.id), group, ParkedStatus.DISCARDED)
        self.index.forget(group)

    def retry(self, transaction_id: uuid.UUID) -> None:
        """Applies a parked transaction again, then those that waited for it."""
        queue = [transaction_id]
        rounds = 0
        while queue and rounds < _MAX_RETRY_ROUNDS:
            rounds += 1
            group = parking.waiting_group(self.session, self.agency.id, queue.pop(0))
            if not group:
                continue
            self.index.forget(group)
            entries = [dict(item.entry) for item in group]
            recorder = Recorder(self.session, self.agency.id)
            blocker = self.index.blocker(entries, before=min(item.seq for item in group))
            if blocker is not None:
                failure: Failure | None = Failure(0, f"en attente de l'entrée parquée {blocker}")
            else:
                _done, failure = self._attempt(recorder, entries)
            settled = Recorder(self.session, self.agency.id)
            if failure is None:
                parking.settle(settled, group, ParkedStatus.APPLIED, {})
                queue.extend(parking.dependents(self.session, self.agency.id,
                                                [item.id for item in group]))
                continue
            errors = {group[failure.index].id: failure.error}
            parking.settle(settled, group, ParkedStatus.PARKED, errors)
            for item in group:
                self.index.add(item.row_id, item.seq, item.id)
