"""EDIFACT INVOIC supplier invoices at central: integrating files (per-message accept or reject,
idempotent by interchange), the drop folder, the reference data, the consolidated report, and the
agency's download of its region's invoices."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.models import Agency, SupplierInvoice, SupplierInvoiceLine
from app.models.database import Database
from app.services.supplier_invoices import supplier_invoices
from app.sync.apply import DeskApplier
from central.cli import main
from central.edifact import generator
from central.sync.changes import changes_after
from kernel.context import Installation, ServiceContext
from kernel.money import Currency

FILES = Path(__file__).with_name("edifact_files")
EDF, FT = generator.EDF[0], generator.FRANCE_TELECOM[0]


# --- integration, on SQLite and PostgreSQL ------------------------------------------------------

@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture
def central(central_url: str, tmp_path: Path) -> list[str]:
    """The command line's base options, with three agencies, both suppliers and their sites."""
    base = ["--database-url", central_url, "--data-dir", str(tmp_path), "--currency", "EUR"]
    for code in ("101", "102", "103"):
        assert main([*base, "agency", "add", code, f"Agence {code}"]) == 0
    suppliers = tmp_path / "suppliers.csv"
    suppliers.write_text(f"supplier;name\n{EDF};EDF Entreprises\n{FT};France Telecom\n",
                         encoding="utf-8")
    assert main([*base, "edifact", "supplier", "import", str(suppliers)]) == 0
    sites = tmp_path / "sites.csv"
    sites.write_text("\n".join(f"{s.supplier};{s.reference};{s.agency}"
                               for s in generator.world(sites_per_agency=2)), encoding="utf-8")
    assert main([*base, "edifact", "site", "import", str(sites)]) == 0
    assert main([*base, "edifact", "site", "add", EDF, "14500000000001", "101"]) == 0
    assert main([*base, "edifact", "site", "add", FT, "0142000001", "102"]) == 0
    assert main([*base, "edifact", "site", "add", FT, "0142000002", "102"]) == 0
    return base


def _db(base: list[str]) -> Database:
    return Database(base[1])


def test_import_integrates_invoices_and_credit_notes_for_the_sites_agencies(
    central: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*central, "edifact", "import", str(FILES / "edf_invoice_unoc.edi"),
                 str(FILES / "telecom_credit_note_unow.edi")])
    assert code == 0, capsys.readouterr()
    db = _db(central)
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(SupplierInvoice.number, Agency.code, SupplierInvoice.total_minor,
                   SupplierInvoice.vat_minor, SupplierInvoice.is_credit_note)
            .join(Agency, Agency.id == SupplierInvoice.agency_id)
            .order_by(SupplierInvoice.number)).all()
        lines = connection.execute(select(func.count()).select_from(SupplierInvoiceLine)
                                   ).scalar_one()
    db.dispose()
    assert rows == [("AV-2026-0077", "102", -2623, -437, True),
                    ("FAC-2026-0001", "101", 25142, 3841, False)]
    assert lines == 4


def test_one_bad_message_is_rejected_and_the_others_are_kept(
    central: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = FILES / "mixed_one_bad_total_one_unknown_site.edi"
    assert main([*central, "edifact", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "message 2, référence M2 (document FAC-M-2) : segment 15 (MOA), élément 1, " \
        "composant 2 : attendu 22.09 (lignes 18.41 + TVA 3.68), trouvé « 22.90 »" in err
    assert "message 3, référence M3 (document FAC-M-3)" in err
    assert ("message 3, référence M3 (document FAC-M-3) : segment 5 (NAD), élément 2, "
            "composant 1 : attendu un site connu du fournisseur 30000000000011 : "
            "« 99999999999999 » (ligne 1) n'est pas enregistré") in err
    db = _db(central)
    with db.engine.connect() as connection:
        numbers = connection.execute(select(SupplierInvoice.number)).scalars().all()
    db.dispose()
    assert numbers == ["FAC-M-1"]


def test_the_same_interchange_twice_is_refused_clearly_and_nothing_is_doubled(
    central: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = FILES / "edf_invoice_unoc.edi"
    assert main([*central, "edifact", "import", str(path)]) == 0
    capsys.readouterr()
    assert main([*central, "edifact", "import", str(path)]) == 1
    out = capsys.readouterr().out
    assert "refusé — échange déjà intégré : émetteur EDI-CONSOLIDATION, référence EDF0001" in out
    db = _db(central)
    with db.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(SupplierInvoice)
                                  ).scalar_one() == 1
    db.dispose()


def test_unknown_supplier_and_usage_errors(central: list[str], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = (FILES / "edf_invoice_unoc.edi").read_bytes().replace(b"30000000000011", b"123")
    path = tmp_path / "unknown.edi"
    path.write_bytes(data)
    assert main([*central, "edifact", "import", str(path)]) == 1
    assert ("segment 6 (NAD), élément 2, composant 1 : attendu un fournisseur connu (NAD+SU) : "
            "« 123 » n'est pas enregistré") in capsys.readouterr().err
    assert main([*central, "edifact", "import", str(tmp_path / "absent.edi")]) == 2
    with pytest.raises(SystemExit) as caught:
        main([*central, "edifact", "import"])
    assert caught.value.code == 2


def test_the_drop_folder_archives_or_rejects_each_file_with_its_report(
    central: list[str], tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    for name in ("edf_invoice_unoc.edi", "mixed_one_bad_total_one_unknown_site.edi"):
        (drop / name).write_bytes((FILES / name).read_bytes())
    (drop / "arriving.edi.part").write_bytes(b"UNA")
    assert main([*central, "edifact", "watch", str(drop), "--once"]) == 1
    assert (drop / "archive" / "edf_invoice_unoc.edi").exists()
    assert "Messages intégrés : 1" in (
        drop / "archive" / "edf_invoice_unoc.edi.report.txt").read_text(encoding="utf-8")
    rejected = drop / "rejected" / "mixed_one_bad_total_one_unknown_site.edi.report.txt"
    text = rejected.read_text(encoding="utf-8")
    assert "Messages intégrés : 1" in text and "Messages rejetés : 2" in text
    assert (drop / "arriving.edi.part").exists()


def test_the_consolidated_report_nets_credit_notes_per_supplier_and_agency(
    central: list[str], tmp_path: Path
) -> None:
    sites = generator.world(sites_per_agency=2)
    path = tmp_path / "day.edi"
    path.write_bytes(generator.interchange(sites, 20, reference="DAY1"))
    assert main([*central, "edifact", "import", str(path),
                 str(FILES / "edf_invoice_unoc.edi")]) == 0
    csv_path, pdf_path = tmp_path / "r.csv", tmp_path / "r.pdf"
    assert main([*central, "edifact", "report", "--month", "2026-12", "--csv", str(csv_path),
                 "--pdf", str(pdf_path)]) == 0
    rows = [line.split(",") for line in csv_path.read_text(encoding="utf-8").splitlines()]
    assert rows[0] == ["supplier", "agency", "invoices", "credit_notes", "amount_excl_vat",
                       "vat", "total"]
    db = _db(central)
    with db.engine.connect() as connection:
        expected = connection.execute(
            select(func.sum(SupplierInvoice.total_minor), func.count())).one()
    db.dispose()
    assert sum(int(r[2]) + int(r[3]) for r in rows[1:]) == expected[1] == 21
    assert sum(Decimal(r[6]) for r in rows[1:]) == Decimal(expected[0]) / 100
    assert any(int(r[3]) > 0 for r in rows[1:])
    edf_101 = next(r for r in rows[1:] if r[:2] == [EDF, "101"])
    assert Decimal(edf_101[4]) + Decimal(edf_101[5]) == Decimal(edf_101[6])
    assert pdf_path.read_bytes().startswith(b"%PDF")


def test_an_agency_downloads_its_region_supplier_invoices_only(
    central: list[str], sqlite_template: Path, tmp_path: Path
) -> None:
    assert main([*central, "edifact", "import", str(FILES / "edf_invoice_unoc.edi"),
                 str(FILES / "telecom_credit_note_unow.edi")]) == 0
    db = _db(central)
    with db.engine.connect() as connection:
        agencies = dict(connection.execute(select(Agency.code, Agency.id)).all())
        downloads = {code: changes_after(connection, agencies[code], 0, 10_000)
                     for code in ("101", "102", "103")}
    db.dispose()
    numbers = {code: sorted(e["changes"]["number"][1] for c in d["commits"]
                            for e in c["entries"] if e["table"] == "supplier_invoice")
               for code, d in downloads.items()}
    assert numbers == {"101": ["FAC-2026-0001"], "102": ["AV-2026-0077"], "103": []}
    desk_path = tmp_path / "desk.sqlite3"
    shutil.copy(sqlite_template, desk_path)
    desk = Database(f"sqlite:///{desk_path}")
    with desk.session() as session, session.begin():
        applier = DeskApplier(session)
        for commit in downloads["102"]["commits"]:
            applier.apply_commit(commit)
    with desk.session() as session:
        note = session.scalars(select(SupplierInvoice)).one()
        assert (note.number, note.total_minor, note.is_credit_note) == ("AV-2026-0077", -2623,
                                                                        True)
        assert [line.site_reference for line in note.lines] == ["0142000001", "0142000002"]
        agency_102 = session.get(Agency, agencies["102"])
        assert agency_102 is not None
    installation = Installation(agencies["102"], "102", "Agence 102", Currency.of("EUR"),
                                ZoneInfo("Europe/Paris"))
    [row] = supplier_invoices(ServiceContext(desk, installation))
    assert (row.supplier, row.number, row.site, row.total_minor) == (
        "France Telecom", "AV-2026-0077", "plusieurs sites", -2623)
    desk.dispose()




def test_an_interrupted_import_resumes_without_doubling(
    central: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from central.edifact import integration

    path = tmp_path / "day.edi"
    path.write_bytes(generator.interchange(generator.world(sites_per_agency=2), 6,
                                           reference="CUT1"))
    db = _db(central)
    flushes = 0
    real = integration.Importer._flush

    def dies_after_the_first_batch(self: integration.Importer, *args: object) -> object:
        nonlocal flushes
        flushes += 1
        if flushes == 2:
            raise KeyboardInterrupt
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(integration.Importer, "_flush", dies_after_the_first_batch)
    with pytest.raises(KeyboardInterrupt):
        integration.Importer(db, "EUR", batch=4).import_file(path)
    monkeypatch.undo()
    with db.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(SupplierInvoice)
                                  ).scalar_one() == 4
    report = integration.Importer(db, "EUR", batch=4).import_file(path)
    assert report.complete and report.accepted == 6
    with db.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(SupplierInvoice)
                                  ).scalar_one() == 6
    again = integration.Importer(db, "EUR").import_file(path)
    assert again.duplicate
    db.dispose()


def test_a_document_already_integrated_is_rejected_by_its_supplier_number_and_kind(
    central: list[str], tmp_path: Path
) -> None:
    """Across interchanges and within one: the key is (supplier, document number, credit note),
    so a credit note may bear the number of an invoice; a batch boundary changes nothing."""
    import random

    from central.edifact import integration

    edf = [s for s in generator.world(sites_per_agency=2) if s.supplier == EDF][:1]
    rng = random.Random(3)

    def interchange(reference: str, *documents: tuple[str, bool]) -> Path:
        path = tmp_path / f"{reference}.edi"
        with path.open("wb") as handle:
            generator.write(handle, iter([
                generator.message(rng, f"M{rank}", edf, number, credit_note=credit)
                for rank, (number, credit) in enumerate(documents, start=1)]),
                reference=reference)
        return path

    db = _db(central)
    first = integration.Importer(db, "EUR").import_file(
        interchange("DAY1", ("D-1", False), ("D-2", False)))
    assert first.complete and first.accepted == 2
    second = integration.Importer(db, "EUR", batch=2).import_file(interchange(
        "DAY2", ("D-1", False), ("D-2", True), ("D-3", False), ("D-4", False), ("D-3", False)))
    assert second.accepted == 3
    assert [(o.rank, o.number, o.reason) for o in second.rejected] == [
        (1, "D-1", f"facture D-1 du fournisseur {EDF} déjà intégré(e)"),
        (5, "D-3", f"facture D-3 du fournisseur {EDF} déjà intégré(e)")]
    with db.engine.connect() as connection:
        rows = connection.execute(select(SupplierInvoice.number, SupplierInvoice.is_credit_note,
                                         SupplierInvoice.interchange_reference)
                                  .order_by(SupplierInvoice.number,
                                            SupplierInvoice.is_credit_note)).all()
    db.dispose()
    assert rows == [("D-1", False, "DAY1"), ("D-2", False, "DAY1"), ("D-2", True, "DAY2"),
                    ("D-3", False, "DAY2"), ("D-4", False, "DAY2")]


@pytest.mark.postgres
def test_the_already_integrated_look_up_stays_on_the_unique_index_whatever_the_plan(
    central_pg_url: str,
) -> None:
    """The look-up once kept a generic plan costed on a small table without statistics
    (docs/edifact.md, "Bench"): at 20,000 invoices, generic or custom plan, with or without
    statistics, each key must be one probe of the unique index, never a scan of the table."""
    from psycopg import ClientCursor
    from sqlalchemy import text

    from central.edifact.integration import INTEGRATED_SQL, integrated_documents

    db = Database(central_pg_url)
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO supplier_invoice (id, version, created_at, updated_at, supplier_code, "
            "supplier_name, number, is_credit_note, issued_on, currency, amount_excl_vat_minor, "
            "vat_minor, total_minor, sender, interchange_reference, message_reference, "
            "received_at) SELECT gen_random_uuid(), 1, now(), now(), "
            "CASE WHEN n % 2 = 0 THEN :edf ELSE :ft END, 'S', 'F' || n, n % 10 = 0, "
            "DATE '2026-12-01', 'EUR', 100, 20, 120, 'S', 'R', 'M', now() "
            "FROM generate_series(1, 20000) AS n"), {"edf": EDF, "ft": FT})
    keys = {(EDF if n % 2 == 0 else FT, f"F{n}", n % 10 == 0) for n in range(19_500, 20_500)}
    numbered = INTEGRATED_SQL.replace("%s", "$1", 1).replace("%s", "$2", 1).replace("%s", "$3", 1)
    suppliers, numbers, credits = (list(column) for column in zip(*keys, strict=True))
    with db.engine.connect() as connection:
        found = integrated_documents(connection, keys)
        assert found == {k for k in keys if int(k[1][1:]) <= 20_000} and len(found) == 501
        raw = connection.connection.driver_connection
        assert raw is not None
        with ClientCursor(raw) as cursor:  # EXPLAIN EXECUTE takes its values inline
            cursor.execute(f"PREPARE look_up AS {numbered}")
            for statistics in (False, True):
                if statistics:
                    cursor.execute("ANALYZE supplier_invoice")
                for mode in ("force_generic_plan", "force_custom_plan"):
                    cursor.execute(f"SET plan_cache_mode = {mode}")
                    cursor.execute("EXPLAIN EXECUTE look_up(%s::varchar[], %s::varchar[], "
                                   "%s::boolean[])",
                                   (suppliers, numbers, credits))
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                    assert "Nested Loop" in plan and \
                        "using uq_supplier_invoice_supplier_code_number_is_credit_note" in plan, \
                        (mode, statistics, plan)
                    assert "Seq Scan on supplier_invoice" not in plan, (mode, statistics, plan)
        connection.rollback()
    db.dispose()


def test_a_file_the_import_stumbles_on_is_set_aside_and_the_folder_goes_on(
    central: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from central.edifact import integration

    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.edi").write_bytes((FILES / "edf_invoice_unoc.edi").read_bytes())
    (drop / "b.edi").write_bytes((FILES / "telecom_credit_note_unow.edi").read_bytes())
    real = integration.Importer.import_file

    def stumbles_on_a(self: integration.Importer, path: Path) -> integration.FileReport:
        if path.name == "a.edi":
            raise RuntimeError("bug")
        return real(self, path)

    monkeypatch.setattr(integration.Importer, "import_file", stumbles_on_a)
    assert main([*central, "edifact", "watch", str(drop), "--once"]) == 1
    assert "erreur inattendue (RuntimeError: bug)" in (
        drop / "rejected" / "a.edi.report.txt").read_text(encoding="utf-8")
    assert (drop / "archive" / "b.edi").exists()


def test_the_import_command_as_a_process_says_why_in_one_line(
    central_sqlite_url: str, tmp_path: Path
) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-m", "central", "--database-url", central_sqlite_url, "--data-dir",
         str(tmp_path), "edifact", "import", str(tmp_path / "absent.edi")],
        cwd=root, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"python -m central edifact : erreur d'utilisation : fichier(s) introuvable(s) : "
        f"{tmp_path / 'absent.edi'}"]


def test_two_processes_importing_the_same_file_write_it_once_and_the_second_says_why(
    central: list[str], tmp_path: Path
) -> None:
    """Two real ``python -m central edifact import`` of one file at once. PostgreSQL: the
    first is held in its first write (the test locks the invoice table) while the second
    runs, which must refuse at once, in French, having written nothing. SQLite: both wait on
    the import lock the test holds; once it is let go, one integrates and the other then
    finds the interchange integrated."""
    import subprocess
    import sys
    import time

    from sqlalchemy import text

    from kernel.filelock import try_lock

    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "day.edi"
    path.write_bytes(generator.interchange(generator.world(sites_per_agency=2), 12,
                                           reference="TWICE"))
    command = [sys.executable, "-m", "central", *central, "edifact", "import", str(path),
               "--batch-size", "4"]

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def count(db: Database) -> int:
        with db.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(SupplierInvoice)
                                      ).scalar_one()

    db = _db(central)
    if db.dialect == "postgresql":
        blocker = db.engine.connect()
        blocker.execute(text("LOCK TABLE supplier_invoice IN SHARE ROW EXCLUSIVE MODE"))
        first = start()
        for _ in range(600):  # the first has claimed the interchange (under its lock)
            with db.engine.connect() as connection:
                if connection.execute(text("SELECT count(*) FROM edifact_interchange")
                                      ).scalar_one():
                    break
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        second = start()
        out, err = second.communicate(timeout=120)
        assert second.returncode == 1, err
        assert "refusé — échange en cours d'intégration par un autre processus : émetteur " \
               "EDI-CONSOLIDATION, référence TWICE ; rien n'a été écrit par celui-ci" in out
        assert "Traceback" not in err
        assert first.poll() is None  # still held: they did run at the same time
        blocker.rollback()
        blocker.close()
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        assert "12 message(s) intégré(s), 0 rejeté(s)" in out
    else:
        with open(f"{db.engine.url.database}.edifact.lock", "a+b") as handle:
            assert try_lock(handle)
            both = [start(), start()]
            waiting = [p.stderr.readline() for p in both]  # type: ignore[union-attr]
            assert waiting == ["Une autre intégration EDIFACT est en cours sur cette base : "
                               "attente de sa fin…\n"] * 2
            assert count(db) == 0
        outputs = [p.communicate(timeout=120) for p in both]
        codes = sorted(p.returncode for p in both)
        assert codes == [0, 1], outputs
        texts = " ".join(out for out, _ in outputs)
        assert "12 message(s) intégré(s), 0 rejeté(s)" in texts
        assert "refusé — échange déjà intégré : émetteur EDI-CONSOLIDATION, référence TWICE" \
               in texts
        assert "Traceback" not in " ".join(err for _, err in outputs)
    assert count(db) == 12
    db.dispose()


@pytest.mark.postgres
def test_the_drop_folder_leaves_a_file_another_process_is_integrating_for_its_next_pass(
    central_pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import text

    from central.edifact.integration import interchange_lock_key

    base = ["--database-url", central_pg_url, "--data-dir", str(tmp_path), "--currency", "EUR"]
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.edi").write_bytes((FILES / "edf_invoice_unoc.edi").read_bytes())
    db = Database(central_pg_url)
    with db.engine.connect() as other:  # plays the other process, holding the interchange
        assert other.execute(text("SELECT pg_try_advisory_lock(:k)"), {
            "k": interchange_lock_key("EDI-CONSOLIDATION", "EDF0001")}).scalar_one()
        assert main([*base, "edifact", "watch", str(drop), "--once"]) == 1
        assert "échange en cours d'intégration par un autre processus" in capsys.readouterr().out
        assert (drop / "a.edi").exists() and not (drop / "rejected" / "a.edi").exists()
        other.rollback()
    db.dispose()
