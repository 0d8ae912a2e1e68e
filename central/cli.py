"""Command line: ``python -m central [options] COMMAND``.

Exit codes: 0 done, 1 refused or failed (one French line on stderr, details in the log file),
2 usage error. Never a traceback on the terminal.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from pydantic import ValidationError as SettingsError
from sqlalchemy.exc import ArgumentError, OperationalError

from app.models.enums import Role
from central.logs import configure_logging
from central.settings import CentralSettings
from kernel.cli import FrenchParser
from kernel.errors import GuichetError

PROG = "python -m central"
#: ``extra=`` of the records whose French line the command prints itself: the log file keeps
#: them with their traceback, the terminal (``serve`` logs to stderr) does not.
PRINTED = {"printed": True}
log = logging.getLogger("central.cli")

def _period(text: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"« {text} » (attendu AAAA-MM)")
    return text


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"« {text} » (attendu AAAA-MM-JJ)") from error


def _agency_code(text: str) -> str:
    if not re.fullmatch(r"\d{3}", text):
        raise argparse.ArgumentTypeError(f"« {text} » (code agence : 3 chiffres)")
    return text


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"« {text} » (identifiant UUID attendu)") from error


def build_parser() -> argparse.ArgumentParser:
    parser = FrenchParser(prog=PROG, description="Guichet — serveur central (ODYSSEE Central)")
    parser.add_argument("--config", dest="config_file", help="fichier de configuration TOML")
    parser.add_argument("--database-url", help="base centrale (PostgreSQL ou SQLite)")
    parser.add_argument("--data-dir", help="dossier des données (base SQLite, journaux)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING…")
    parser.add_argument("--currency", help="devise ISO 4217 de l'installation (XOF, EUR…)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=FrenchParser,
                                     metavar="COMMANDE")

    serve = commands.add_parser("serve", help="lancer le serveur HTTP")
    serve.add_argument("--host", help="adresse d'écoute (défaut 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port d'écoute")
    serve.add_argument("--workers", type=int, help="processus serveurs (défaut 1)")
    serve.add_argument("--db-pool-size", type=int,
                       help="connexions PostgreSQL gardées ouvertes par processus")
    serve.add_argument("--db-max-overflow", type=int,
                       help="connexions supplémentaires quand toutes sont occupées")
    serve.add_argument("--db-pool-timeout", type=float,
                       help="secondes d'attente d'une connexion libre")
    serve.add_argument("--max-batch-bytes", type=int, help="taille maximale d'un lot compressé")
    serve.add_argument("--max-batch-uncompressed-bytes", type=int,
                       help="taille maximale d'un lot décompressé")
    serve.add_argument("--certfile", type=Path, help="certificat TLS (PEM) : sert en https")
    serve.add_argument("--keyfile", type=Path, help="clé privée du certificat TLS (PEM)")
    serve.add_argument("--watch-parent", type=int, metavar="PID",
                       help="s'arrêter quand ce processus se termine (serveur embarqué)")

    db = commands.add_parser("db", help="schéma de la base")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=FrenchParser)
    db_commands.add_parser("upgrade", help="mettre le schéma à jour")
    db_commands.add_parser("current", help="afficher les révisions du schéma")
    db_commands.add_parser(
        "restored", help="après une restauration de sauvegarde : nouvelle génération de la base "
        "(les postes repartent d'un état sûr)")

    agency = commands.add_parser("agency", help="agences et identifiants de connexion")
    agency_commands = agency.add_subparsers(dest="agency_command", required=True,
                                            parser_class=FrenchParser)
    add = agency_commands.add_parser("add", help="créer une agence (affiche son identifiant)")
    ensure = agency_commands.add_parser(
        "ensure", help="créer l'agence si besoin et son identifiant dans un fichier (embarqué)")
    for sub in (add, ensure):
        sub.add_argument("code", type=_agency_code)
        sub.add_argument("name")
        sub.add_argument("--id", type=_uuid, help="identifiant UUID de l'agence (celui du poste)")
        sub.add_argument("--credential-file", type=Path, required=sub is ensure,
                         help="écrire l'identifiant dans ce fichier (droits 0600) au lieu de "
                         "l'afficher")
    credential = agency_commands.add_parser("credential", help="nouvel identifiant d'agence")
    credential.add_argument("code", type=_agency_code)
    credential.add_argument("--revoke-others", action="store_true",
                            help="révoquer les identifiants existants de l'agence")
    credential.add_argument("--credential-file", type=Path)
    agency_commands.add_parser("list", help="lister les agences")

    reference = commands.add_parser(
        "reference", help="référentiel partagé (communes, tarifs, catalogue, modèles…)")
    reference_commands = reference.add_subparsers(dest="reference_command", required=True,
                                                  parser_class=FrenchParser)
    reference_import = reference_commands.add_parser(
        "import", help="copier le référentiel partagé d'une base de poste (lignes absentes)")
    reference_import.add_argument("source", help="adresse de la base du poste "
                                  "(sqlite:///… ou postgresql+psycopg://…)")

    admin = commands.add_parser("admin", help="identifiants d'administration")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True,
                                          parser_class=FrenchParser)
    admin_create = admin_commands.add_parser("create", help="créer un identifiant d'administration")
    admin_create.add_argument("--label", default="", help="à quoi ou à qui il sert")

    user = commands.add_parser("user", help="agents (transmis aux postes par synchronisation)")
    user_commands = user.add_subparsers(dest="user_command", required=True, parser_class=FrenchParser)
    user_add = user_commands.add_parser("add", help="créer un agent")
    user_add.add_argument("username")
    user_add.add_argument("--name", required=True, help="nom complet")
    user_add.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
    user_add.add_argument("--agency", type=_agency_code, help="agence (absent : siège)")
    user_add.add_argument("--roaming", action="store_true",
                          help="agent du siège qui se connecte sur tous les postes (sans cette "
                          "option, un agent du siège n'est envoyé à aucun poste)")
    user_roaming = user_commands.add_parser(
        "roaming", help="agent du siège envoyé à tous les postes (on) ou à aucun (off)")
    user_roaming.add_argument("username")
    user_roaming.add_argument("state", choices=["on", "off"])
    user_password = user_commands.add_parser("password", help="changer le mot de passe")
    user_password.add_argument("username")
    for sub in (user_add, user_password):
        sub.add_argument("--password-stdin", action="store_true",
                         help="lire le mot de passe sur l'entrée standard")
    user_list = user_commands.add_parser("list", help="lister les agents")
    user_list.add_argument("--agency", type=_agency_code)
    for name, text in (("disable", "désactiver un agent"), ("enable", "réactiver un agent")):
        user_commands.add_parser(name, help=text).add_argument("username")

    bill = commands.add_parser("bill", help="facturer les consommations d'une période")
    bill.add_argument("--period", type=_period, required=True, help="période AAAA-MM")
    bill.add_argument("--agency", type=_agency_code, help="limiter à une agence")
    bill.add_argument("--dry-run", action="store_true", help="simuler : ne rien écrire")
    bill.add_argument("--issued-on", type=_day, help="date d'émission (défaut : aujourd'hui)")
    bill.add_argument("--chunk-size", type=int, help="abonnements par transaction")

    commands.add_parser("runs", help="journal des facturations")

    sync = commands.add_parser("sync", help="synchronisation par fichiers (ligne coupée)")
    sync_commands = sync.add_subparsers(dest="sync_command", required=True, parser_class=FrenchParser)
    bundle_in = sync_commands.add_parser(
        "import-bundle", help="appliquer le paquet d'un poste et écrire la réponse")
    bundle_in.add_argument("file", type=Path, help="paquet du poste (.zip)")
    bundle_in.add_argument("--reply", type=Path, required=True,
                           help="paquet réponse à rapporter au poste (.zip)")
    bundle_out = sync_commands.add_parser(
        "export-bundle", help="écrire les changements du central pour une agence")
    bundle_out.add_argument("--agency", type=_agency_code, required=True)
    bundle_out.add_argument("--after", type=int, default=0,
                            help="dernier numéro de commit appliqué par le poste")
    bundle_out.add_argument("file", type=Path, help="paquet à écrire (.zip)")

    invoice = commands.add_parser("invoice", help="factures")
    invoice_commands = invoice.add_subparsers(dest="invoice_command", required=True,
                                              parser_class=FrenchParser)
    correct = invoice_commands.add_parser(
        "correct", help="corriger une facture de consommation (avoir + nouvelle facture)")
    correct.add_argument("number")
    correct.add_argument("--reason", default="", help="motif (journal d'audit)")
    correct.add_argument("--issued-on", type=_day)

    balances = commands.add_parser("balances", help="soldes des comptes")
    balances_commands = balances.add_subparsers(dest="balances_command", required=True,
                                                parser_class=FrenchParser)
    refresh = balances_commands.add_parser("refresh", help="recalculer les soldes")
    refresh.add_argument("--agency", type=_agency_code)

    from central.edifact.cli import add_commands as add_edifact
    from central.operations_cli import add_commands

    add_commands(commands, FrenchParser)
    from central.vending.cli import add_commands as add_vending_commands

    add_vending_commands(commands, FrenchParser)
    add_edifact(commands, FrenchParser)
    return parser


def load_settings(args: argparse.Namespace) -> CentralSettings:
    overrides = {
        key: value
        for key in ("config_file", "database_url", "data_dir", "log_level", "currency", "host",
                    "port", "billing_chunk_size", "workers", "db_pool_size", "db_max_overflow",
                    "db_pool_timeout", "max_batch_bytes", "max_batch_uncompressed_bytes",
                    "certfile", "keyfile")
        if (value := getattr(args, key, None)) is not None
    }
    if getattr(args, "chunk_size", None) is not None:
        overrides["billing_chunk_size"] = args.chunk_size
    return CentralSettings(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args)
    except SettingsError as error:
        problem = error.errors()[0]
        where = ".".join(map(str, problem["loc"]))
        print(f"Configuration invalide ({where}) : {problem['msg']}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as error:
        print(f"Configuration invalide : {error}", file=sys.stderr)
        return 2
    serving = args.command == "serve"
    try:
        configure_logging(settings.log_level, log_file=settings.log_file, to_stderr=serving)
    except OSError as error:
        print(f"Journal impossible à écrire dans {settings.log_file} : {error}", file=sys.stderr)
        return 1
    from central.commands import run

    try:
        return run(settings, args)
    except GuichetError as error:
        log.warning("refused: %s", error.message)
        print(error.message, file=sys.stderr)
        return 1
    except ArgumentError as error:
        log.error("invalid database url: %s", error, extra=PRINTED)
        print("Configuration invalide (database_url) : adresse de base illisible (attendu "
              "postgresql+psycopg://utilisateur@serveur/base ou sqlite:///chemin)",
              file=sys.stderr)
        return 2
    except OperationalError as error:
        log.exception("database unreachable", extra=PRINTED)
        first = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        print(f"Base de données injoignable ou refusée : {first}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130
    except Exception as error:
        log.exception("unexpected error", extra=PRINTED)
        print(f"Erreur inattendue : {type(error).__name__}: {error} "
              f"(détails dans {settings.log_file})".replace("\n", " "), file=sys.stderr)
        return 1
