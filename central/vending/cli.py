"""``python -m central operator …`` (mobile-money operators' credentials and limits) and
``python -m central vending …`` (settlement, reconciliation, blocks, the outbox)."""

from __future__ import annotations

import argparse
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.models.database import Database
from app.models.ids import utcnow
from central.database import installation_currency
from central.models import HesDelivery, SmsMessage
from central.settings import CentralSettings
from central.vending import settlement as settling
from central.vending.operators import (
    OperatorInfo,
    add_operator,
    list_operators,
    new_operator_secret,
    revoke_operator,
    set_limits,
)
from kernel.money import Currency


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"« {text} » (attendu AAAA-MM-JJ)") from error


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation as error:
        raise argparse.ArgumentTypeError(f"« {text} » (montant attendu)") from error
    return value


def add_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    op = commands.add_parser("operator", help="opérateurs de paiement mobile (vente de crédit)")
    sub = op.add_subparsers(dest="operator_command", required=True, parser_class=parser_class)
    add = sub.add_parser("add", help="créer un opérateur (affiche son identifiant une fois)")
    add.add_argument("code", help="code court : moov, orange…")
    add.add_argument("--name", default="", help="nom affiché")
    limits = sub.add_parser("limits", help="changer les limites d'un opérateur")
    limits.add_argument("code")
    for parser in (add, limits):
        parser.add_argument("--min", dest="minimum", type=_amount, help="minimum par achat")
        parser.add_argument("--max", dest="maximum", type=_amount, help="maximum par achat")
        parser.add_argument("--daily-max", type=_amount,
                            help="maximum par numéro payeur et par jour")
    add.add_argument("--credential-file", type=Path,
                     help="écrire l'identifiant dans ce fichier (0600) au lieu de l'afficher")
    credential = sub.add_parser("credential", help="nouvel identifiant (l'ancien cesse)")
    credential.add_argument("code")
    credential.add_argument("--credential-file", type=Path)
    sub.add_parser("revoke", help="révoquer l'identifiant d'un opérateur").add_argument("code")
    sub.add_parser("list", help="lister les opérateurs")

    vending = commands.add_parser("vending", help="plateforme de vente de crédit prépayé")
    vsub = vending.add_subparsers(dest="vending_command", required=True,
                                  parser_class=parser_class)
    settle = vsub.add_parser("settlement", help="règlement d'un opérateur pour un jour "
                             "(affiché, CSV et PDF)")
    reconcile = vsub.add_parser("reconcile", help="rapprocher le relevé CSV de l'opérateur")
    for parser in (settle, reconcile):
        parser.add_argument("--operator", required=True)
        parser.add_argument("--date", type=_day, help="jour (défaut : hier)")
    settle.add_argument("--out", type=Path, default=Path("."), help="dossier des fichiers")
    reconcile.add_argument("statement", type=Path, help="relevé de l'opérateur (CSV)")
    block = vsub.add_parser("block", help="bloquer (ou débloquer) la vente d'un compteur")
    block.add_argument("meter")
    block.add_argument("--reason", default="", help="motif (vide : débloquer)")
    vsub.add_parser("outbox", help="état des envois : jetons aux compteurs (HES) et SMS")


def _minor(currency: Currency, value: Decimal | None) -> int | None:
    return None if value is None else currency.exact_minor(value)


def _print_operator(info: OperatorInfo, currency: Currency) -> None:
    fmt = currency.format_minor
    state = "révoqué" if info.revoked else "actif"
    print(f"{info.code:<12} {state:<8} {info.name}  min {fmt(info.min_amount_minor)} · "
          f"max {fmt(info.max_amount_minor)} · {fmt(info.max_payer_day_minor)}/payeur/jour")


def _operator(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.commands import _show_secret

    currency = installation_currency(db, settings)
    command = args.operator_command
    if command == "add":
        limits = {k: v for k, v in {
            "min_amount_minor": _minor(currency, args.minimum),
            "max_amount_minor": _minor(currency, args.maximum),
            "max_payer_day_minor": _minor(currency, args.daily_max)}.items() if v is not None}
        info, secret = add_operator(db, args.code, args.name, **limits)
        print(f"Opérateur {info.code} créé.")
        _print_operator(info, currency)
        _show_secret(secret, f"de l'opérateur {info.code}", args.credential_file)
    elif command == "limits":
        info = set_limits(db, args.code, min_amount_minor=_minor(currency, args.minimum),
                          max_amount_minor=_minor(currency, args.maximum),
                          max_payer_day_minor=_minor(currency, args.daily_max))
        _print_operator(info, currency)
    elif command == "credential":
        secret = new_operator_secret(db, args.code)
        _show_secret(secret, f"de l'opérateur {args.code}", args.credential_file)
    elif command == "revoke":
        revoke_operator(db, args.code)
        print(f"Identifiant de l'opérateur {args.code} révoqué.")
    else:
        found = list_operators(db)
        if not found:
            print("Aucun opérateur.")
        for info in found:
            _print_operator(info, currency)
    return 0


def _vending(db: Database, settings: CentralSettings, args: argparse.Namespace) -> int:
    currency = installation_currency(db, settings)
    command = args.vending_command
    if command in ("settlement", "reconcile"):
        from datetime import timedelta

        day = args.date or (utcnow().astimezone(settings.zone).date() - timedelta(days=1))
        result = settling.settlement(db, args.operator, day, settings.zone)
        if command == "settlement":
            print(settling.render(result, currency))
            args.out.mkdir(parents=True, exist_ok=True)
            stem = args.out / f"reglement-{result.operator}-{day.isoformat()}"
            settling.write_csv(result, stem.with_suffix(".csv"))
            settling.write_pdf(result, currency, stem.with_suffix(".pdf"))
            print(f"Écrit : {stem.with_suffix('.csv')} et {stem.with_suffix('.pdf')}")
            return 0
        theirs = settling.read_statement(args.statement.read_text(encoding="utf-8-sig"))
        outcome = settling.reconcile(result, theirs)
        print(f"Rapprochement {result.operator} du {day.isoformat()} : {outcome.matched} "
              f"concordant(s), {len(outcome.missing_ours)} absent(s) chez nous, "
              f"{len(outcome.missing_theirs)} absent(s) chez l'opérateur, "
              f"{len(outcome.differences)} écart(s) de montant")
        for reference in outcome.missing_ours:
            print(f"  absent chez nous      {reference}")
        for reference in outcome.missing_theirs:
            print(f"  absent chez l'opérateur {reference}")
        for reference, ours, theirs_amount in outcome.differences:
            print(f"  écart {reference} : nous {currency.format_minor(ours)}, opérateur "
                  f"{currency.format_minor(theirs_amount)}")
        return 0 if outcome.clean else 1
    if command == "block":
        from central.vending.platform import Platform

        Platform(db, currency, settings.zone, None).block(args.meter, args.reason)
        print(f"Compteur {args.meter} " + ("bloqué." if args.reason else "débloqué."))
        return 0
    with db.reading() as session:
        for model, title in ((HesDelivery, "Jetons poussés aux compteurs (HES)"),
                             (SmsMessage, "SMS")):
            counts = dict(session.execute(select(model.status, func.count())
                                          .group_by(model.status)).all())
            detail = ", ".join(f"{k.value} {v}" for k, v in sorted(counts.items())) or "aucun"
            print(f"{title} : {detail}")
        for sms in session.scalars(select(SmsMessage).where(SmsMessage.status != "sent")
                                   .order_by(SmsMessage.created_at.desc()).limit(20)):
            print(f"  SMS {sms.phone} {sms.status.value} après {sms.attempts} essai(s) "
                  f"{sms.last_error}")
        for hes in session.scalars(select(HesDelivery).where(
                HesDelivery.status != "acknowledged")
                .order_by(HesDelivery.created_at.desc()).limit(20)):
            print(f"  compteur {hes.drn} {hes.status.value} après {hes.attempts} essai(s) "
                  f"{hes.last_answer}")
    return 0


HANDLERS = {"operator": _operator, "vending": _vending}
