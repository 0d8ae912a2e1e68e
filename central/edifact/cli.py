"""``python -m central edifact …``: import INVOIC interchanges (files or a drop folder), the
suppliers and their sites, the consolidated monthly report."""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from app.models.database import Database
from central.settings import CentralSettings

#: Names a transfer is still writing (or a report of ours): never taken from the drop folder.
log = logging.getLogger("central.edifact")
_IN_PROGRESS = re.compile(r"(^\.|\.(tmp|part|filepart|report\.txt)$)", re.I)


def _month(text: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"« {text} » (attendu AAAA-MM)")
    return text


def _agency_code(text: str) -> str:
    if not re.fullmatch(r"\d{3}", text):
        raise argparse.ArgumentTypeError(f"« {text} » (code agence : 3 chiffres)")
    return text


def add_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    edifact = commands.add_parser("edifact", help="factures fournisseurs EDIFACT (INVOIC)")
    sub = edifact.add_subparsers(dest="edifact_command", required=True, parser_class=parser_class)
    importing = sub.add_parser("import", help="intégrer des fichiers d'échange INVOIC")
    importing.add_argument("files", nargs="+", type=Path, metavar="FICHIER")
    importing.add_argument("--batch-size", type=int, default=1000,
                           help="factures par transaction")
    watch = sub.add_parser("watch", help="dossier de dépôt : intégrer chaque fichier déposé, "
                           "le ranger dans archive/ ou rejected/ avec son compte rendu")
    watch.add_argument("folder", type=Path, metavar="DOSSIER")
    watch.add_argument("--interval", type=float, default=30.0,
                       help="secondes entre deux passages (défaut 30)")
    watch.add_argument("--once", action="store_true", help="un seul passage puis s'arrêter")
    supplier = sub.add_parser("supplier", help="fournisseurs (identifiant NAD+SU)")
    supplier_sub = supplier.add_subparsers(dest="supplier_command", required=True,
                                           parser_class=parser_class)
    add = supplier_sub.add_parser("add", help="enregistrer un fournisseur")
    add.add_argument("supplier_id", metavar="SUPPLIER_ID")
    add.add_argument("name", metavar="NAME")
    bulk = supplier_sub.add_parser("import", help="fournisseurs d'un CSV (identifiant;nom)")
    bulk.add_argument("file", type=Path)
    site = sub.add_parser("site", help="sites et points de livraison (NAD+DP / LOC+7)")
    site_sub = site.add_subparsers(dest="site_command", required=True, parser_class=parser_class)
    add = site_sub.add_parser("add", help="rattacher un site d'un fournisseur à une agence")
    add.add_argument("supplier_id", metavar="SUPPLIER_ID")
    add.add_argument("site", metavar="SITE_REFERENCE")
    add.add_argument("agency", type=_agency_code, metavar="AGENCY_CODE")
    bulk = site_sub.add_parser("import", help="sites d'un CSV (fournisseur;site;agence)")
    bulk.add_argument("file", type=Path)
    report = sub.add_parser("report", help="rapport consolidé d'un mois (CSV, PDF)")
    report.add_argument("--month", type=_month, required=True, help="mois AAAA-MM")
    report.add_argument("--csv", type=Path, help="fichier CSV (absent : sur la sortie)")
    report.add_argument("--pdf", type=Path, help="fichier PDF")


def run(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    command = args.edifact_command
    if command == "import":
        return _import(db, settings, args)
    if command == "watch":
        return _watch(db, settings, args)
    if command in ("supplier", "site"):
        return _reference(db, args)
    return _report(db, args)


def _usage(message: str) -> int:
    print(f"python -m central edifact : erreur d'utilisation : {message}", file=sys.stderr)
    return 2


def _import(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.edifact.integration import Importer

    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        return _usage(f"fichier(s) introuvable(s) : {', '.join(missing)}")
    if args.batch_size < 1:
        return _usage("--batch-size doit être positif")
    importer = Importer(db, settings.currency, args.batch_size)
    importer.on_wait = lambda: print("Une autre intégration EDIFACT est en cours sur cette "
                                     "base : attente de sa fin…", file=sys.stderr, flush=True)
    code = 0
    for path in args.files:
        report = importer.import_file(path)
        print(_summary(report))
        if not report.complete:
            print(report.text().rstrip(), file=sys.stderr)
            code = 1
    return code


def _summary(report: Any) -> str:
    if report.refused:
        return f"{report.path.name} : refusé — {report.refused}"
    return (f"{report.path.name} : {report.accepted} message(s) intégré(s), "
            f"{len(report.rejected)} rejeté(s)")


def watch_once(db: Database, currency: str, folder: Path) -> list[Any]:
    """One pass over the drop folder: every file integrated and moved with its report."""
    from central.edifact.integration import FileReport, Importer

    archive, rejected = folder / "archive", folder / "rejected"
    archive.mkdir(exist_ok=True)
    rejected.mkdir(exist_ok=True)
    importer = Importer(db, currency)
    reports = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()
                       and not _IN_PROGRESS.search(p.name)):
        try:
            report = importer.import_file(path)
        except OperationalError:
            raise  # the database is unreachable: the file stays for the next pass
        except Exception as error:
            # A bug must not stop the folder nor come back on every pass: the file is set
            # aside with what happened, the traceback goes to the log.
            log.exception("edifact import of %s failed", path)
            report = FileReport(path, refused=f"erreur inattendue ({type(error).__name__}: "
                                f"{error}) — détails dans le journal du central")
        if report.busy:  # another process integrates it: left for the next pass
            print(f"{_summary(report)} → laissé dans le dossier", flush=True)
            reports.append(report)
            continue
        target = (archive if report.complete else rejected) / path.name
        if target.exists():
            target = target.with_name(f"{path.stem}.{int(time.time())}{path.suffix}")
        shutil.move(str(path), target)
        target.with_name(target.name + ".report.txt").write_text(report.text(), encoding="utf-8")
        print(f"{_summary(report)} → {target.parent.name}/", flush=True)
        reports.append(report)
    return reports


def _watch(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    folder: Path = args.folder
    if not folder.is_dir():
        return _usage(f"dossier introuvable : {folder}")
    while True:
        reports = watch_once(db, settings.currency, folder)
        if args.once:
            return 0 if all(r.complete for r in reports) else 1
        time.sleep(max(args.interval, 0.5))


def _reference(db: Database, args: argparse.Namespace) -> int:
    from central.edifact import suppliers

    if args.edifact_command == "supplier":
        if args.supplier_command == "add":
            added = suppliers.add_supplier(db, args.supplier_id, args.name)
            print(f"Fournisseur {args.supplier_id.strip()} "
                  f"{'enregistré' if added else 'déjà enregistré'}.")
            return 0
        result = suppliers.import_suppliers(db, args.file)
    else:
        if args.site_command == "add":
            added = suppliers.add_site(db, args.supplier_id, args.site, args.agency)
            print(f"Site {args.site.strip()} du fournisseur {args.supplier_id.strip()} "
                  f"{'rattaché' if added else 'déjà rattaché'} à l'agence {args.agency}.")
            return 0
        result = suppliers.import_sites(db, args.file)
    print(f"{result.added} ajouté(s), {result.already} déjà présent(s).")
    return 0


def _report(db: Database, args: argparse.Namespace) -> int:
    from central.edifact import report

    with db.engine.connect() as connection:
        rows = report.consolidated(connection, args.month)
        sites = report.per_site(connection, args.month) if args.pdf else []
    if args.csv:
        with args.csv.open("w", encoding="utf-8", newline="") as handle:
            report.write_csv(rows, handle)
    else:
        report.write_csv(rows, sys.stdout)
    if args.pdf:
        report.write_pdf(rows, sites, args.month, args.pdf)
    if args.csv or args.pdf:
        print(f"Rapport {args.month} : {len(rows)} ligne(s) fournisseur × agence.")
    return 0
