"""``python -m central tariff …``, ``meters unread`` and ``night status``: tariff maintenance,
meters left unread, the night's control room (parsers and what the commands print)."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from app.models.database import Database
from app.models.ids import utcnow
from central.database import installation_currency
from central.settings import CentralSettings
from central.tariffs import (
    TariffVersionInfo,
    add_tariff,
    add_version,
    all_tariffs,
    read_tariff_file,
    tariff_history,
    tariffs_in_force,
)
from kernel.money import Currency

Handler = Callable[[Database, CentralSettings, argparse.Namespace], int]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"« {text} » (attendu AAAA-MM-JJ)") from error


def _agency_code(text: str) -> str:
    if not re.fullmatch(r"\d{3}", text):
        raise argparse.ArgumentTypeError(f"« {text} » (code agence : 3 chiffres)")
    return text


def add_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    tariff = commands.add_parser("tariff", help="tarifs et leurs versions")
    tariff_commands = tariff.add_subparsers(dest="tariff_command", required=True,
                                            parser_class=parser_class)
    listing = tariff_commands.add_parser("list", help="tarifs (en vigueur à une date, ou tous)")
    listing.add_argument("--on", type=_day, help="en vigueur ce jour (AAAA-MM-JJ)")
    show = tariff_commands.add_parser("show", help="historique des versions d'un tarif")
    show.add_argument("code")
    show.add_argument("--on", type=_day, help="marquer la version en vigueur ce jour")
    show.add_argument("--agency", type=_agency_code, help="tarif propre à une agence")
    add = tariff_commands.add_parser("add", help="créer un tarif depuis un fichier TOML")
    add.add_argument("file", type=Path)
    version = tariff_commands.add_parser("version", help="nouvelle version d'un tarif (TOML)")
    version.add_argument("code")
    version.add_argument("file", type=Path)

    meters = commands.add_parser("meters", help="compteurs")
    meters_commands = meters.add_subparsers(dest="meters_command", required=True,
                                            parser_class=parser_class)
    unread = meters_commands.add_parser(
        "unread", help="compteurs sans relève réelle depuis N périodes")
    unread.add_argument("--periods", type=int, default=3, help="mois complets (défaut 3)")
    unread.add_argument("--agency", type=_agency_code)
    unread.add_argument("--date", type=_day, help="date de référence (défaut : aujourd'hui)")

    night = commands.add_parser("night", help="la nuit des agences (salle de contrôle)")
    night_commands = night.add_subparsers(dest="night_command", required=True,
                                          parser_class=parser_class)
    status = night_commands.add_parser(
        "status", help="où en est la nuit de chaque agence (code 1 : agence en retard)")
    status.add_argument("--date", type=_day, help="nuit de ce jour (défaut : aujourd'hui)")
    status.add_argument("--json", action="store_true", help="sortie JSON")
    status.add_argument("--alert", action="store_true",
                        help="alerter (commande, courriel) si une agence n'a pas terminé")


def _bands_text(version: TariffVersionInfo) -> str:
    parts = []
    for band in version.bands:
        upper = "∞" if band.upper is None else str(band.upper)
        parts.append(f"{band.lower}–{upper} à {band.price.normalize():f}"
                     + (" (sociale)" if band.social else ""))
    return " ; ".join(parts)


def _print_version(version: TariffVersionInfo, currency: Currency, mark: str = "") -> None:
    until = version.valid_to.isoformat() if version.valid_to else "…"
    scope = f" agence {version.agency_code}" if version.agency_code else ""
    print(f"{mark}{version.code:<12} {version.valid_from.isoformat()} → {until:<10} "
          f"{version.payment.value:<8} {version.energy.value:<11}{scope} {version.name}")
    extra = ""
    if version.arrears_recovery_share is not None:
        extra = f" · recouvrement des impayés {version.arrears_recovery_share * 100:.0f} %"
    categories = ", ".join(version.customer_categories) or "toutes catégories"
    print(f"    prime fixe {currency.format_minor(version.fixed_charge_minor)} / mois · "
          f"TVA {version.vat_rate * 100:.2f} % · {categories}{extra}")
    print(f"    tranches : {_bands_text(version)}")


def _tariff(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    currency = installation_currency(db, settings)
    command = args.tariff_command
    if command == "add":
        info = add_tariff(db, read_tariff_file(args.file, currency))
        print(f"Tarif {info.code} créé (en vigueur à partir du {info.valid_from.isoformat()}).")
        _print_version(info, currency)
    elif command == "version":
        info = add_version(db, args.code, read_tariff_file(args.file, currency))
        print(f"Nouvelle version du tarif {info.code} à partir du "
              f"{info.valid_from.isoformat()} (la précédente se termine la veille).")
        _print_version(info, currency)
    elif command == "show":
        on = args.on or utcnow().astimezone(settings.zone).date()
        for version in tariff_history(db, args.code, args.agency):
            _print_version(version, currency, "* " if version.in_force_on(on) else "  ")
        print(f"(* en vigueur le {on.isoformat()})")
    else:
        versions = tariffs_in_force(db, args.on) if args.on else all_tariffs(db)
        if not versions:
            print("Aucun tarif.")
        for version in versions:
            _print_version(version, currency)
    return 0


def _meters(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.billing.unread import unread_meters

    today = args.date or utcnow().astimezone(settings.zone).date()
    found = unread_meters(db, periods=args.periods, today=today, agency_code=args.agency)
    print(f"Compteurs sans relève réelle depuis {args.periods} période(s) : {len(found)}")
    for meter in found:
        last = meter.last_real_reading.isoformat() if meter.last_real_reading else "jamais relevé"
        print(f"  {meter.agency_code} {meter.serial:<20} {meter.connection_reference:<20} "
              f"{meter.account_number or '—':<16} {last:<14} "
              f"{meter.estimated_invoices} estimation(s)")
    return 0


def _night(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.night import alert, render, status_for

    status = status_for(db, settings, args.date)
    if args.json:
        print(json.dumps(status.as_json(), ensure_ascii=False, indent=2))
    else:
        print(render(status, settings.zone))
    if args.alert:
        for line in alert(status, settings):
            print(f"Alerte : {line}")
    return 1 if status.alarming else 0


HANDLERS: dict[str, Handler] = {"tariff": _tariff, "meters": _meters, "night": _night}
