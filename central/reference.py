"""Shared reference data (communes, streets, tariffs, catalogue, letter templates, head-office
users: the rows without an agency) is central's: no agency writes it, not even while adopting
(docs/sync.md, "Central trusts no desk"). A new central gets it from its operator:
``python -m central reference import DESK_DATABASE_URL`` copies the shared rows of a desk
database that central lacks, as central's own changes (every desk downloads them), keeping their
identities and versions so that desks holding the same rows see nothing to do. The embedded
central of a desk is given its desk's reference data this way when it is first prepared."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

import central.sync.numbering  # noqa: F401  (central numbers the commits of its sessions)
from app.models.capture import JOURNAL_ROWS, mark_from_server, set_actor
from app.models.database import Database
from app.models.ownership import QUEUES
from app.models.search_index import WITHOUT_INDEX
from central.actors import ADMINISTRATION
from central.sync.recording import Recorder
from central.sync.tables import model_of, set_value
from kernel import wire

#: Agencies are made by ``agency add``/``ensure``, never copied from a desk.
_NOT_COPIED = frozenset({"agency", *QUEUES})
_PAGE = 1000


@dataclass
class ImportReport:
    copied: dict[str, int] = field(default_factory=dict)
    already: int = 0

    @property
    def total(self) -> int:
        return sum(self.copied.values())


def import_reference(db: Database, source_url: str) -> ImportReport:
    """Copies the shared rows of the database at ``source_url`` that ``db`` lacks (by id)."""
    report = ImportReport()
    source = Database(source_url)
    try:
        with source.reading() as reading, db.session() as session:
            mark_from_server(session)
            session.info[WITHOUT_INDEX] = True
            session.info[JOURNAL_ROWS] = []
            set_actor(session, ADMINISTRATION)
            session.info["sync_reason"] = "Import du référentiel partagé"
            recorder = Recorder(session, uuid.UUID(int=0), eager=False)
            for tbl in wire.synced_tables():
                if tbl.name in _NOT_COPIED:
                    continue
                model = model_of(tbl.name)
                query = select(tbl).where(tbl.c.agency_id.is_(None)).order_by(tbl.c.id)
                if tbl.name == wire.USERS:  # a desk's own users (the demo's) stay on it
                    query = query.where(tbl.c.desk_only.is_(False))
                rows = [dict(r) for r in reading.execute(query).mappings()]
                for start in range(0, len(rows), _PAGE):
                    page = rows[start:start + _PAGE]
                    present = set(session.scalars(select(tbl.c.id).where(
                        tbl.c.id.in_([r["id"] for r in page]))))
                    for row in page:
                        if row["id"] in present:
                            report.already += 1
                            continue
                        obj = model()
                        for column, value in row.items():
                            set_value(obj, column, value)
                        recorder.insert(obj, central=True)
                        report.copied[tbl.name] = report.copied.get(tbl.name, 0) + 1
                    session.flush()
            session.commit()
    finally:
        source.dispose()
    return report
