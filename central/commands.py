"""What each ``python -m central`` command does (the parser is in ``central.cli``)."""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
import threading
import time
from pathlib import Path

from app.models.database import Database
from app.models.enums import Role
from app.models.ids import utcnow
from central import migrate
from central.agencies import add_agency, ensure_agency, list_agencies, new_agency_credential
from central.billing.balances import refresh_all_balances
from central.billing.corrections import correct_invoice
from central.billing.engine import BillingEngine, BillingReport, recent_runs, resume_command
from central.billing.period import Period
from central.collector import tune_for_server
from central.credentials import issue_admin_credential
from central.database import installation_currency, open_database
from central.models import RunStatus
from central.operations_cli import HANDLERS
from central.settings import CentralSettings
from central.sync.bundle import export_bundle, import_bundle
from central.sync.state import rotate_generation
from central.users import add_user, list_users, set_active, set_password, set_roaming
from central.vending.cli import HANDLERS as VENDING_HANDLERS
from kernel.errors import BusinessError, EnvironmentProblem, ValidationError
from kernel.money import Currency


def run(settings: CentralSettings, args: argparse.Namespace) -> int:
    if args.command == "serve":
        return serve(settings, args)
    if args.command == "db":
        return _db(settings, args)
    db = open_database(settings)
    try:
        handler = {
            "agency": _agency,
            "admin": _admin,
            "user": _user,
            "bill": _bill,
            "runs": _runs,
            "invoice": _invoice,
            "balances": _balances,
            "sync": _sync,
            "reference": _reference,
            "edifact": _edifact,
            **HANDLERS,
            **VENDING_HANDLERS,
        }[args.command]
        return handler(db, settings, args)
    finally:
        db.dispose()


def _edifact(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.edifact.cli import run as run_edifact

    return run_edifact(db, settings, args)


def _reference(db: Database, _settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.reference import import_reference

    report = import_reference(db, args.source)
    detail = ", ".join(f"{name} {count}" for name, count in report.copied.items()) or "aucune"
    print(f"Référentiel importé : {report.total} ligne(s) copiée(s) ({detail}), "
          f"{report.already} déjà présente(s).")
    return 0


def _db(settings: CentralSettings, args: argparse.Namespace) -> int:
    db = Database(settings.resolved_database_url)
    try:
        if args.db_command == "restored":
            if migrate.needs_upgrade(db.engine):
                migrate.upgrade(db.engine)
            with db.session() as session, session.begin():
                fresh = rotate_generation(session)
            print(f"Base déclarée restaurée : nouvelle génération {fresh}. Les postes "
                  "reprendront la synchronisation depuis un état sûr.")
            return 0
        if args.db_command == "upgrade":
            migrate.upgrade(db.engine)
            installation_currency(db, settings)
        print(f"{db.describe()} : {migrate.describe(db.engine)}")
    finally:
        db.dispose()
    return 0


def write_secret(path: Path, secret: str) -> None:
    """Writes a credential readable by its owner only (refuses to overwrite one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as error:
        raise BusinessError(f"Le fichier {path} existe déjà : il n'est pas remplacé.") from error
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    os.chmod(path, 0o600)


def _show_secret(secret: str, what: str, path: Path | None) -> None:
    if path is not None:
        write_secret(path, secret)
        print(f"Identifiant {what} enregistré dans {path} (lisible par vous seul).")
        return
    print(f"Identifiant {what} (affiché une seule fois ; seule son empreinte est conservée) :")
    print(secret)


def _agency(db: Database, _settings: CentralSettings, args: argparse.Namespace) -> int:
    if args.agency_command == "add":
        info, secret = add_agency(db, args.code, args.name, args.id)
        print(f"Agence {info.code} « {info.name} » créée.")
        _show_secret(secret, f"de l'agence {info.code}", args.credential_file)
    elif args.agency_command == "ensure":
        info = ensure_agency(db, args.code, args.name, args.id)
        if args.credential_file.exists():
            print(f"Agence {info.code} prête ; identifiant déjà dans {args.credential_file}.")
        else:
            secret = new_agency_credential(db, info.code)
            _show_secret(secret, f"de l'agence {info.code}", args.credential_file)
    elif args.agency_command == "credential":
        secret = new_agency_credential(db, args.code, revoke_others=args.revoke_others)
        if args.revoke_others:
            print(f"Les anciens identifiants de l'agence {args.code} sont révoqués.")
        _show_secret(secret, f"de l'agence {args.code}", args.credential_file)
    else:
        for agency in list_agencies(db):
            state = "" if agency.is_active else " (inactive)"
            print(f"{agency.code}  {agency.name}{state}  {agency.id}")
    return 0


def _admin(db: Database, _settings: CentralSettings, args: argparse.Namespace) -> int:
    with db.session() as session, session.begin():
        secret = issue_admin_credential(session, args.label)
    _show_secret(secret, "d'administration", None)
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValidationError({"password": "requis"},
                              "Mot de passe requis : saisissez-le ou utilisez --password-stdin.")
    first = getpass.getpass("Mot de passe : ")
    if getpass.getpass("Confirmation : ") != first:
        raise ValidationError({"password": "différents"}, "Les deux saisies diffèrent.")
    return first


def _user(db: Database, _settings: CentralSettings, args: argparse.Namespace) -> int:
    command = args.user_command
    if command == "add":
        info = add_user(db, args.username, args.name, Role(args.role),
                        _read_password(args.password_stdin), args.agency, args.roaming)
        where = ("agence " + info.agency_code if info.agency_code
                 else "siège, itinérant" if info.roaming else "siège, envoyé à aucun poste")
        print(f"Agent {info.username} créé ({info.role_label}, {where}).")
    elif command == "roaming":
        info = set_roaming(db, args.username, args.state == "on")
        print(f"Agent {info.username} : " + ("envoyé à tous les postes." if info.roaming
                                            else "envoyé à aucun poste (retiré des postes à "
                                            "leur prochaine synchronisation)."))
    elif command == "password":
        set_password(db, args.username, _read_password(args.password_stdin))
        print(f"Mot de passe de {args.username} changé.")
    elif command in ("disable", "enable"):
        info = set_active(db, args.username, command == "enable")
        print(f"Agent {info.username} {'réactivé' if info.is_active else 'désactivé'}.")
    else:
        for user in list_users(db, args.agency):
            print(f"{user.username:<20} {user.full_name:<30} {user.role_label:<15} "
                  f"{user.agency_code or ('siège*' if user.roaming else 'siège'):<6} "
                  f"{'actif' if user.is_active else 'désactivé'}")
    return 0


def _money(currency: Currency, minor: int) -> str:
    return currency.format_minor(minor)


def print_report(report: BillingReport, currency: Currency) -> None:
    scope = f"agence {report.agency_code}" if report.agency_code else "toutes agences"
    mode = " — simulation, rien n'a été écrit" if report.dry_run else ""
    print(f"Facturation {report.period} ({scope}), émise le {report.issued_on}{mode}")
    print(f"  abonnements facturés : {report.invoices} (dont estimés : {report.estimated})")
    print(f"  avoirs sur estimations corrigées : {report.credit_notes} "
          f"({_money(currency, -report.credited_minor)})")
    print(f"  total HT {_money(currency, report.total_excl_vat_minor)} · "
          f"TVA {_money(currency, report.vat_minor)} · TTC {_money(currency, report.total_minor)}")
    if report.first_number:
        print(f"  numéros : {report.first_number} → {report.last_number}")
    if report.run_id:
        print(f"  lot : {report.run_id}" + (f" (reprend {report.resumed_from})"
                                            if report.resumed_from else ""))
    print(f"  durée : {report.seconds:.1f} s ({report.per_second:,.0f} factures/s)"
          .replace(",", " "))


def _bill(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    currency = installation_currency(db, settings)
    engine = BillingEngine(db, currency, chunk_size=settings.billing_chunk_size,
                           payment_terms_days=settings.payment_terms_days,
                           workers=settings.billing_workers,
                           processes_from=settings.billing_processes_from)
    today = utcnow().astimezone(settings.zone).date()
    issued_on = args.issued_on or today

    def progress(report: BillingReport) -> None:
        print(f"\r  {report.invoices:,} factures ({report.per_second:,.0f}/s)".replace(",", " "),
              end="", file=sys.stderr, flush=True)

    report = engine.run(Period.parse(args.period), issued_on, agency_code=args.agency,
                        dry_run=args.dry_run, progress=progress if sys.stderr.isatty() else None,
                        today=today)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print_report(report, currency)
    return 0


def _runs(db: Database, _settings: CentralSettings, _args: argparse.Namespace) -> int:
    runs = recent_runs(db)
    if not runs:
        print("Aucune facturation.")
    for run_ in runs:
        print(f"{run_.started_at:%Y-%m-%d %H:%M} {run_.period} {run_.agency_code or 'toutes'} "
              f"{RUN_LABELS[run_.status]:<10} {run_.invoices:>9} factures {run_.credit_notes:>6} "
              f"avoirs {run_.id}" + (f"  {run_.error[:80]}" if run_.error else ""))
        if run_.status in (RunStatus.INTERRUPTED, RunStatus.FAILED):
            print(f"    pour reprendre : {resume_command(run_)}")
    return 0


RUN_LABELS = {
    RunStatus.RUNNING: "en cours",
    RunStatus.COMPLETED: "terminée",
    RunStatus.FAILED: "échouée",
    RunStatus.INTERRUPTED: "interrompue",
}


def _invoice(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    currency = installation_currency(db, settings)
    issued_on = args.issued_on or utcnow().astimezone(settings.zone).date()
    done = correct_invoice(db, currency, args.number, issued_on=issued_on, reason=args.reason,
                           payment_terms_days=settings.payment_terms_days)
    print(f"Facture {done.credited_number} annulée par l'avoir {done.credit_note_number} ; "
          f"nouvelle facture {done.new_number}.")
    print(f"  ancien total {_money(currency, done.old_total_minor)} → "
          f"nouveau total {_money(currency, done.new_total_minor)}")
    return 0


def _balances(db: Database, _settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.agencies import find_agency

    agency_id = None
    if args.agency:
        with db.reading() as session:
            agency_id = find_agency(session, args.agency).id
    done = refresh_all_balances(db, agency_id)
    print(f"Soldes recalculés : {done.accounts} comptes, {done.changed} modifiés.")
    return 0


def _sync(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    if args.sync_command == "import-bundle":
        manifest = import_bundle(db, args.file, args.reply,
                                 max_member_bytes=settings.max_batch_bytes,
                                 max_uncompressed=settings.max_batch_uncompressed_bytes)
        for result in manifest["results"]:
            outcome = result.get("status") or result.get("error")
            print(f"  lot {result['number']} : {outcome}"
                  + (f" ({result['message']})" if "message" in result else ""))
    else:
        manifest = export_bundle(db, args.agency, args.after, args.file)
    commits = sum(page["commits"] for page in manifest["pages"])
    target = args.reply if args.sync_command == "import-bundle" else args.file
    print(f"Agence {manifest['agency']} : {commits} commit(s) du central jusqu'au n° "
          f"{manifest['head']} écrits dans {target}.")
    return 0


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise EnvironmentProblem(
                f"Impossible d'écouter sur {host}:{port} ({error.strerror or error}) : "
                "port déjà utilisé ou adresse invalide."
            ) from error


def _watch_parent(pid: int, server: object) -> None:
    """Ends the server when the process that started it is gone (the desk crashed)."""
    import psutil

    def watch() -> None:
        while not getattr(server, "should_exit", True):
            if not psutil.pid_exists(pid) or os.getppid() != pid:
                server.should_exit = True  # type: ignore[attr-defined]
                return
            time.sleep(1.0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


SERVE_SETTINGS = "GUICHET_CENTRAL_SERVE_SETTINGS"


def _tls_files(settings: CentralSettings) -> dict[str, str]:
    """uvicorn's TLS options, after checking both files are there and readable."""
    if settings.certfile is None and settings.keyfile is None:
        return {}
    if settings.certfile is None or settings.keyfile is None:
        raise ValidationError({"certfile": "certfile et keyfile vont ensemble"},
                              "TLS : donnez le certificat (--certfile) et sa clé (--keyfile).")
    for path in (settings.certfile, settings.keyfile):
        try:
            path.read_bytes()
        except OSError as error:
            raise EnvironmentProblem(f"TLS : fichier {path} illisible ({error.strerror}).") \
                from error
    return {"ssl_certfile": str(settings.certfile), "ssl_keyfile": str(settings.keyfile)}


def serve(settings: CentralSettings, args: argparse.Namespace) -> int:
    """One process (``workers`` = 1, the embedded server) or a supervisor of ``workers``
    processes sharing the listening socket, each with its own database pool."""
    import logging

    import uvicorn

    from central.api import create_app

    host = args.host or settings.host
    port = args.port or settings.port
    tls = _tls_files(settings)
    _check_port(host, port)
    db = open_database(settings)
    scheme = "https" if tls else "http"
    common = {"host": host, "port": port, "log_config": None, "access_log": False,
              "server_header": False, "proxy_headers": False, **tls}
    logging.getLogger("central").info(
        "central server on %s://%s:%d (%s, %d worker(s), pool %d + %d)", scheme, host, port,
        db.describe(), settings.workers, settings.db_pool_size, settings.db_max_overflow)
    if settings.workers > 1:
        db.dispose()
        # The workers are new interpreters: they rebuild the same settings from this variable.
        os.environ[SERVE_SETTINGS] = settings.model_dump_json(exclude={"config_file"})
        from uvicorn.supervisors import Multiprocess

        config = uvicorn.Config("central.api:app_from_environment", factory=True,
                                workers=settings.workers, **common)  # type: ignore[arg-type]
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
    try:
        app = create_app(settings, db=db)
        tune_for_server()
        config = uvicorn.Config(app, **common)  # type: ignore[arg-type]
        server = uvicorn.Server(config)
        if args.watch_parent:
            _watch_parent(args.watch_parent, server)
        server.run()
    finally:
        db.dispose()
    return 0
