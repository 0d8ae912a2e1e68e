"""Command line: ``python -m app [options] [command]``.

Without a command it opens the program. Exit codes: 0 done, 1 refused with a message, 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError as SettingsError

from app.logs import ON_TERMINAL_ALREADY, configure_logging
from app.settings import Settings
from kernel.cli import FrenchParser, FrenchRawDescriptionHelpFormatter
from kernel.errors import ConfigurationError

log = logging.getLogger("app")


class _Parser(FrenchParser):
    formatter = FrenchRawDescriptionHelpFormatter


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas une date (AAAA-MM-JJ)") from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas un nombre entier") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"« {text} » : un nombre positif ou nul est attendu")
    return value


def program_name() -> str:
    """How the user started us: ``./guichet`` or ``guichet.cmd`` (the launchers say so)."""
    return os.environ.get("GUICHET_LAUNCHER") or "python -m app"


def _parser() -> argparse.ArgumentParser:
    prog = program_name()
    tests = (f"{prog} test [options de pytest]" if prog != "python -m app"
             else "./guichet test (guichet.cmd test sous Windows)")
    parser = _Parser(
        prog=prog, description="Guichet — agence. Sans commande : ouvre le programme.",
        epilog=f"Tests : {tests} lance toute la suite de tests.\n"
               "Codes de sortie : 0 fait, 1 refusé (le message dit pourquoi), "
               "2 utilisation ou configuration à corriger.")
    parser.add_argument("--data-dir", help="dossier des données (base SQLite, journaux)")
    parser.add_argument("--database-url", help="base de l'agence (SQLite ou PostgreSQL)")
    parser.add_argument("--central-url", help="adresse du serveur central ('off' : hors ligne)")
    parser.add_argument("--central-ca-file",
                        help="autorité de certification (PEM) du certificat du serveur central")
    parser.add_argument("--central-allow-http", action="store_true", default=None,
                        help="accepter http:// vers un serveur central distant (réseau de test)")
    parser.add_argument("--bundle-max-member-mib", type=int,
                        help="taille maximale d'un élément de paquet (Mio)")
    parser.add_argument("--agency", dest="agency_code", help="code de l'agence (3 chiffres)")
    parser.add_argument("--currency", help="devise ISO 4217 (XOF, EUR…)")
    parser.add_argument("--timezone", help="fuseau horaire (ex. Africa/Abidjan)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMANDE")

    demo = commands.add_parser("demo", help="créer une agence de démonstration")
    demo.add_argument("--customers", type=_count, default=2000, help="nombre de clients")
    demo.add_argument("--seed", type=int, default=2026, help="graine (même graine → mêmes données)")
    demo.add_argument("--as-of", type=_day, help="date de référence AAAA-MM-JJ")
    demo.add_argument("--reset", action="store_true", help="vider la base d'abord")

    join = commands.add_parser(
        "join", help="premier démarrage d'un poste d'une agence réelle : rejoindre son central",
        description="Construit la base de ce poste depuis le serveur central (amorçage), au "
                    "lieu de l'agence de démonstration. Le dossier de données doit être neuf.")
    join.add_argument("url", help="adresse du serveur central (https://…)")
    join.add_argument("--credential-file", type=Path,
                      help="fichier de l'identifiant de l'agence (sinon "
                           "GUICHET_CENTRAL_CREDENTIAL, ou demandé au clavier)")

    commands.add_parser("agency", help="afficher l'agence de ce poste (code, nom, identifiant)")

    search = commands.add_parser("search", help="index de recherche des clients")
    search_commands = search.add_subparsers(dest="search_command", required=True,
                                            parser_class=_Parser)
    search_commands.add_parser("rebuild", help="reconstruire l'index (s'il est endommagé)")

    sync = commands.add_parser(
        "sync", help="synchroniser avec le serveur central",
        description="Codes de sortie : 0 réussie, 1 échec, 2 configuration, 3 réussie mais des "
                    "conflits ou des lignes en attente attendent un superviseur, 130 interrompue.")
    sync.add_argument("--dry-run", action="store_true",
                      help="montrer ce qu'une vraie synchronisation enverrait et appliquerait")
    sync_commands = sync.add_subparsers(dest="sync_command", parser_class=_Parser)
    export = sync_commands.add_parser("export-bundle", help="écrire les lots à envoyer dans un fichier")
    export.add_argument("file", help="fichier de lots à porter au site central")
    imported = sync_commands.add_parser("import-bundle", help="appliquer la réponse du site central")
    imported.add_argument("file", help="fichier de réponse produit par le site central")
    from app.sync.schedule import add_parser as add_schedule_parser

    add_schedule_parser(sync_commands)

    db = commands.add_parser("db", help="base de données")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_commands.add_parser("upgrade", help="mettre le schéma à jour")
    db_commands.add_parser("current", help="afficher la révision du schéma")
    commands.add_parser("test", help="lancer les tests (par le lanceur : " + tests + ")")
    return parser


_SETTING_FLAGS = ("data_dir", "database_url", "central_url", "agency_code", "currency",
                  "timezone", "log_level", "central_ca_file", "central_allow_http",
                  "bundle_max_member_mib")


def load_settings(args: argparse.Namespace) -> Settings:
    """Flags, then ``GUICHET_*`` variables, then what a join recorded in the data folder
    (``poste.json``: the central's address, the agency code, the currency), then defaults."""
    overrides: dict[str, Any] = {
        key: value for key in _SETTING_FLAGS if (value := getattr(args, key, None)) is not None
    }
    settings = Settings(**overrides)
    from app.sync.join import joined_settings

    joined = {key: value for key, value in joined_settings(settings.data_dir).items()
              if key not in overrides and f"GUICHET_{key.upper()}" not in os.environ}
    return Settings(**{**overrides, **joined}) if joined else settings


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.demo import build_demo, reset_database
    from app.services.installation import open_database
    from kernel.money import Currency

    db = open_database(settings)
    if args.reset:
        reset_database(db)
    started = time.perf_counter()
    progress = _progress_printer("clients", started)
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


def _progress_printer(unit: str, started: float) -> Callable[[int, int], None]:
    """On a terminal, one line rewritten in place; otherwise (a log file, a scheduler) a line
    every few seconds at most, and the last one."""
    interactive = sys.stdout.isatty()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if not interactive and done < total and now - last[0] < NOT_A_TERMINAL_EVERY:
            return
        last[0] = now
        rate = done / max(now - started, 1e-9)
        line = f"{done:>9,} / {total:,} {unit}  ({rate:,.0f} {unit}/s)".replace(",", " ")
        print(f"\r{line}" if interactive else line, end="" if interactive else "\n",
              flush=True)

    return progress


#: Seconds between two progress lines when the output is not a terminal.
NOT_A_TERMINAL_EVERY = 5.0


def _db(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from app.services.installation import connect_database
    from kernel import migrate

    parsed = make_url(settings.resolved_database_url)
    if args.db_command == "current" and parsed.get_backend_name() == "sqlite" \
            and not Path(parsed.database or "").exists():
        print(f"Aucune base dans {parsed.database} : elle sera créée au premier démarrage "
              f"({program_name()}) ou par « {program_name()} db upgrade » "
              f"(dernière révision : {migrate.head_revision()}).")
        return 1
    db = connect_database(settings)
    try:
        if args.db_command == "upgrade":
            migrate.upgrade(db.engine)
        print(
            f"{db.describe()} : révision {migrate.current_revision(db.engine) or 'aucune'} "
            f"(dernière : {migrate.head_revision()})"
        )
    finally:
        db.dispose()
    return 0


def _agency(settings: Settings) -> int:
    from app.services.installation import connect_database, load_installation

    db = connect_database(settings)
    try:
        installation = load_installation(db, settings)
        print(f"Agence {installation.agency_code} — {installation.agency_name}")
        print(f"identifiant : {installation.agency_id}")
        print(f"base : {db.describe()}")
        central = settings.central_url.strip()
        print("serveur central : " + (
            "hors ligne" if central == "off" else central or "embarqué (sur ce poste)"))
    finally:
        db.dispose()
    return 0


def _read_credential(args: argparse.Namespace, settings: Settings) -> str:
    if args.credential_file is not None:
        try:
            return str(args.credential_file.read_text(encoding="utf-8")).strip()
        except OSError as error:
            raise ConfigurationError(
                f"Fichier d'identifiant illisible : {args.credential_file} "
                f"({error.strerror or error}).") from error
    if settings.central_credential.strip():
        return settings.central_credential.strip()
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Identifiant de l'agence (donné par le site central) : ").strip()
    return sys.stdin.readline().strip()


def _join(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.installation import open_database
    from app.sync.join import join_central

    given = args.agency_code or os.environ.get("GUICHET_AGENCY_CODE")
    if not given:
        raise ConfigurationError(
            f"Précisez le code de l'agence à rejoindre : {program_name()} --agency 102 join "
            f"{args.url}")
    credential = _read_credential(args, settings)
    db = open_database(settings)
    try:
        print(f"Amorçage de l'agence {settings.agency_code} depuis {args.url}…", flush=True)
        joined = join_central(db, settings, args.url, credential,
                              progress=_progress_printer("tables", time.perf_counter()))
    finally:
        db.dispose()
    print(f"\nPoste rattaché au central {args.url} : agence {joined.agency_code} — "
          f"{joined.agency_name} (identifiant {joined.agency_id}), {joined.rows} lignes reçues, "
          f"devise {joined.currency}. Démarrez le programme : {program_name()}")
    return 0


def _search(settings: Settings, args: argparse.Namespace) -> int:
    from app.models import search_index
    from app.models.bulk import analyse
    from app.services.installation import open_database

    db = open_database(settings)
    started = time.perf_counter()
    progress = _progress_printer("clients indexés", started)

    with db.session() as session:
        count = search_index.rebuild(session.connection(), session, progress)
        session.commit()
    with db.engine.begin() as connection:
        analyse(connection, search_index.TABLES)
    print(f"\nIndex de recherche reconstruit : {count} clients en {time.perf_counter() - started:.1f} s")
    return 0


def display_problem(environ: Mapping[str, str] | None = None,
                    platform: str | None = None) -> str | None:
    """Why Qt could not open a window here (None when a display is there or not needed)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith(("linux", "freebsd", "openbsd")):
        return None
    qpa = environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if qpa not in ("", "xcb", "wayland", "wayland-egl"):
        return None  # offscreen, vnc, eglfs…: Qt needs no display server
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return ("Aucun écran graphique n'est accessible (ni DISPLAY ni WAYLAND_DISPLAY) : lancez "
            "Guichet depuis une session de bureau, ou indiquez l'écran (DISPLAY=:0 par exemple) ; "
            "pour un essai sans écran : QT_QPA_PLATFORM=offscreen.")


def _gui(settings: Settings) -> int:
    problem = display_problem()
    if problem:
        log.error("no display: %s", problem, extra=ON_TERMINAL_ALREADY)
        print(problem, file=sys.stderr)
        return 2
    from app.services.desk_lock import DataFolderBusy, DataFolderLock

    lock = DataFolderLock(settings.data_dir, "la fenêtre Guichet")
    try:
        lock.acquire()
    except DataFolderBusy as busy:
        # Started from a desktop icon, nobody reads stderr: the refusal is also a message box.
        log.warning("refused: %s", busy.message, extra=ON_TERMINAL_ALREADY)
        print(busy.message, file=sys.stderr)
        if os.environ.get("QT_QPA_PLATFORM", "") != "offscreen":
            from app.views.application import show_refusal

            show_refusal(busy.message)
        return 1
    try:
        if _needs_join(settings):
            return _join_on_first_start(settings)
        from app.views.application import run_gui

        return run_gui(settings)
    finally:
        lock.release()


def _needs_join(settings: Settings) -> bool:
    """First start of a desk configured for a real central: join it (no demo agency)."""
    central = settings.central_url.strip()
    if not central or central == "off":
        return False
    from app.services.demo import database_is_empty
    from app.services.installation import open_database

    db = open_database(settings)
    try:
        return database_is_empty(db)
    finally:
        db.dispose()


def _join_on_first_start(settings: Settings) -> int:
    """``./guichet`` on a new desk configured for a real central (address and credential in the
    settings or the data folder): it joins before the window opens, never builds a demo."""
    from app.services.installation import open_database
    from app.sync.endpoint import NoCentral, configured_endpoint
    from app.sync.join import join_central

    try:
        endpoint = configured_endpoint(settings)
    except NoCentral as error:
        print(f"Premier démarrage : {error.message}", file=sys.stderr)
        return 2
    assert endpoint is not None
    db = open_database(settings)
    try:
        print(f"Premier démarrage : amorçage de l'agence {settings.agency_code} depuis "
              f"{endpoint.url}…", flush=True)
        join_central(db, settings, endpoint.url, endpoint.credential,
                     progress=_progress_printer("tables", time.perf_counter()))
    finally:
        db.dispose()
    from app.views.application import run_gui

    return run_gui(settings)


_LOCKED = {"demo": "la création d'une agence de démonstration", "join": "l'amorçage du poste",
           "sync": "la synchronisation", "search": "la reconstruction de l'index de recherche"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["test"]:
        import subprocess

        return subprocess.call([sys.executable, "-m", "pytest", *argv[1:]])
    from app.private_files import restrict_process

    restrict_process()  # what the desk writes is the user's only (database, logs, backups…)
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args)
    except SettingsError as error:
        for problem in error.errors():
            message = str(problem["msg"]).removeprefix("Value error, ")
            print(f"Configuration invalide ({'.'.join(map(str, problem['loc']))}) : {message}",
                  file=sys.stderr)
        return 2
    except ConfigurationError as error:
        print(error.message, file=sys.stderr)
        return 2
    from kernel.errors import GuichetError

    try:
        configure_logging(settings.log_file, settings.log_level)
    except OSError as error:
        print(f"Dossier de données impossible à créer ou à écrire : {settings.data_dir} "
              f"({error.strerror or error}). Choisissez-en un autre (--data-dir ou "
              "GUICHET_DATA_DIR).", file=sys.stderr)
        return 2
    try:
        if args.command is None:
            return _gui(settings)
        if args.command == "db":
            return _db(settings, args)
        if args.command == "agency":
            return _agency(settings)
        from app.services.desk_lock import DataFolderLock

        if args.command == "sync":  # a full disk: one line, not the log's own tracebacks
            logging.raiseExceptions = False
        with DataFolderLock(settings.data_dir, _LOCKED.get(args.command, args.command)):
            if args.command == "demo":
                return _demo(settings, args)
            if args.command == "join":
                return _join(settings, args)
            if args.command == "search":
                return _search(settings, args)
            if args.command == "sync":
                from app.sync.command import sync_command

                return sync_command(settings, args)
    except ConfigurationError as error:
        log.error("configuration: %s", error.message, extra=ON_TERMINAL_ALREADY)
        print(error.message, file=sys.stderr)
        return 2
    except GuichetError as error:
        log.warning("refused: %s", error.message, extra=ON_TERMINAL_ALREADY)
        print(error.message, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrompu.", file=sys.stderr)
        return 130
    except Exception as error:
        if args.command == "sync":  # the run's failures: one line and the scheduler's code
            from app.sync.failures import classify

            failure = classify(error, settings.resolved_database_url)
            if failure is not None:
                log.info("sync not started", exc_info=True)
                print(failure.message, file=sys.stderr)
                return failure.code
        log.exception("unexpected error")
        print(f"Erreur inattendue : {type(error).__name__} : {error} (détails dans "
              f"{settings.log_file})".replace("\n", " "), file=sys.stderr)
        return 1
    return 2
