"""Command line: ``python -m app [options] [command]``.

Without a command it opens the program. Exit codes: 0 done, 1 refused with a message, 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from datetime import date

from pydantic import ValidationError as SettingsError

from app.logs import configure_logging
from app.settings import Settings

log = logging.getLogger("app")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Guichet — agence")
    parser.add_argument("--data-dir", help="dossier des données (base SQLite, journaux)")
    parser.add_argument("--database-url", help="base de l'agence (SQLite ou PostgreSQL)")
    parser.add_argument("--central-url", help="adresse du serveur central ('off' : hors ligne)")
    parser.add_argument("--agency", dest="agency_code", help="code de l'agence (3 chiffres)")
    parser.add_argument("--currency", help="devise ISO 4217 (XOF, EUR…)")
    parser.add_argument("--timezone", help="fuseau horaire (ex. Africa/Abidjan)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING…")
    commands = parser.add_subparsers(dest="command")

    demo = commands.add_parser("demo", help="créer une agence de démonstration")
    demo.add_argument("--customers", type=int, default=2000, help="nombre de clients")
    demo.add_argument("--seed", type=int, default=2026, help="graine (même graine → mêmes données)")
    demo.add_argument("--as-of", type=date.fromisoformat, help="date de référence AAAA-MM-JJ")
    demo.add_argument("--reset", action="store_true", help="vider la base d'abord")

    search = commands.add_parser("search", help="index de recherche des clients")
    search_commands = search.add_subparsers(dest="search_command", required=True)
    search_commands.add_parser("rebuild", help="reconstruire l'index (s'il est endommagé)")

    sync = commands.add_parser(
        "sync", help="synchroniser avec le serveur central",
        description="Codes de sortie : 0 réussie, 1 échec, 2 configuration, 3 réussie mais des "
                    "conflits ou des lignes en attente attendent un superviseur, 130 interrompue.")
    sync.add_argument("--dry-run", action="store_true",
                      help="montrer ce qu'une vraie synchronisation enverrait et appliquerait")
    sync_commands = sync.add_subparsers(dest="sync_command")
    export = sync_commands.add_parser("export-bundle", help="écrire les lots à envoyer dans un fichier")
    export.add_argument("file", help="fichier de lots à porter au site central")
    imported = sync_commands.add_parser("import-bundle", help="appliquer la réponse du site central")
    imported.add_argument("file", help="fichier de réponse produit par le site central")
    from app.sync.schedule import add_parser as add_schedule_parser

    add_schedule_parser(sync_commands)

    db = commands.add_parser("db", help="base de données")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="mettre le schéma à jour")
    db_commands.add_parser("current", help="afficher la révision du schéma")
    return parser


def load_settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key in (
            "data_dir",
            "database_url",
            "central_url",
            "agency_code",
            "currency",
            "timezone",
            "log_level",
        )
        if (value := getattr(args, key, None)) is not None
    }
    return Settings(**overrides)


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from app.models import migrate
    from app.models.database import Database
    from app.services.demo import build_demo, reset_database
    from app.services.money import Currency

    db = Database(settings.resolved_database_url)
    migrate.upgrade(db.engine)
    if args.reset:
        reset_database(db)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        rate = done / max(time.perf_counter() - started, 1e-9)
        print(
            f"\r{done:>9,} / {total:,} clients  ({rate:,.0f} clients/s)".replace(",", " "),
            end="",
            flush=True,
        )

    build_demo(
        db,
        agency_code=settings.agency_code,
        currency=Currency.of(settings.currency),
        customers=args.customers,
        seed=args.seed,
        as_of=args.as_of,
        progress=progress,
    )
    elapsed = time.perf_counter() - started
    print(
        f"\nAgence de démonstration {settings.agency_code} créée : {args.customers} clients "
        f"en {elapsed:.1f} s dans {db.describe()}"
    )
    return 0


def _db(settings: Settings, args: argparse.Namespace) -> int:
    from app.models import migrate
    from app.models.database import Database

    db = Database(settings.resolved_database_url)
    if args.db_command == "upgrade":
        migrate.upgrade(db.engine)
    print(
        f"{db.describe()} : révision {migrate.current_revision(db.engine)} "
        f"(dernière : {migrate.head_revision()})"
    )
    return 0


def _search(settings: Settings, args: argparse.Namespace) -> int:
    from app.models import search_index
    from app.services.installation import open_database

    db = open_database(settings)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"\r{done:,} / {total:,} clients indexés".replace(",", " "), end="", flush=True)

    with db.session() as session:
        count = search_index.rebuild(session.connection(), session, progress)
        session.commit()
    print(f"\nIndex de recherche reconstruit : {count} clients en {time.perf_counter() - started:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args)
    except SettingsError as error:
        for problem in error.errors():
            print(
                f"Configuration invalide ({'.'.join(map(str, problem['loc']))}) : {problem['msg']}",
                file=sys.stderr,
            )
        return 2
    configure_logging(settings.log_file, settings.log_level)
    if args.command is None:
        from app.views.application import run_gui

        return run_gui(settings)
    from app.services.errors import GuichetError

    try:
        if args.command == "demo":
            return _demo(settings, args)
        if args.command == "db":
            return _db(settings, args)
        if args.command == "search":
            return _search(settings, args)
        if args.command == "sync":
            from app.sync.command import sync_command

            return sync_command(settings, args)
    except GuichetError as error:
        print(error.message, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrompu.", file=sys.stderr)
        return 130
    return 2
