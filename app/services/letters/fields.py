"""The catalogue of merge fields and the sections that supply their values.

A section knows its fields (name, French meaning, example) and how to read their values for one
letter. Modules add their own section with ``register`` (quotes and interventions do so when
they are there); the template checker and the catalogue screen read ``catalogue()``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Agency, Contract, Customer, Invoice, Meter, Payment, Premise
from app.models.enums import InvoiceStatus
from app.models.network import ServiceConnection
from app.services.balances import balances_of, pending_changes
from app.services.search import format_address
from kernel.context import ServiceContext
from kernel.identifiers import format_account_number

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")


def long_date(day: date | None) -> str:
    """``5 décembre 2026`` (``1er`` for the first of the month)."""
    if day is None:
        return ""
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def amount(ctx: ServiceContext, minor: int) -> str:
    """An amount as letters print it: ``12 500 FCFA`` (no-break spaces, so it never wraps)."""
    text = ctx.installation.currency.format_minor(minor).replace("\u202f", "\u00a0")
    return text.replace("F\u00a0CFA", "FCFA")


@dataclass(frozen=True)
class Field:
    """``example`` is the value a template is tried with, of the type the field really has (a
    condition such as ``{% if compte.nb_impayes > 1 %}`` is checked as it will run)."""

    name: str
    meaning: str
    example: str | bool | int

    @property
    def shown_example(self) -> str:
        """The example as the catalogue shows it: « oui » / « non » for a condition."""
        if isinstance(self.example, bool):
            return "oui" if self.example else "non"
        return str(self.example)


@dataclass(frozen=True)
class Subject:
    """Whom and what a letter is about: the customer, and when known the account, quote or
    intervention it was made from."""

    customer_id: uuid.UUID
    account_id: uuid.UUID | None = None
    quote_id: uuid.UUID | None = None
    intervention_id: uuid.UUID | None = None


Supplier = Callable[[Session, ServiceContext, Subject], dict[str, Any]]


@dataclass(frozen=True)
class Section:
    """Fields under one prefix (``client``, ``compte``…) and how to read them for a subject.
    ``rows`` are the fields of each row of a list field (``factures_impayees``)."""

    prefix: str
    title: str
    fields: tuple[Field, ...]
    supply: Supplier
    rows: dict[str, tuple[Field, ...]] = field(default_factory=dict)


_SECTIONS: dict[str, Section] = {}


def register(section: Section) -> None:
    _SECTIONS[section.prefix] = section


def sections() -> list[Section]:
    return list(_SECTIONS.values())


def catalogue() -> list[tuple[str, Field]]:
    """Every field as written in a template (``client.nom``), with its section title."""
    found: list[tuple[str, Field]] = []
    for section in _SECTIONS.values():
        found += [(section.title, f) for f in section.fields]
        for list_name, row_fields in section.rows.items():
            found += [(section.title, Field(f"{list_name}[].{f.name.split('.')[-1]}", f.meaning,
                                            f.example)) for f in row_fields]
    return found


def known_names() -> set[str]:
    return {f.name for s in _SECTIONS.values() for f in s.fields}


def row_names(list_name: str) -> set[str] | None:
    """The fields of one row of ``list_name``, or None when it is not a list field."""
    for section in _SECTIONS.values():
        if list_name in section.rows:
            return {f.name.split(".")[-1] for f in section.rows[list_name]}
    return None


def merge_data(session: Session, ctx: ServiceContext, subject: Subject,
               free: dict[str, str] | None = None, number: str = "") -> dict[str, Any]:
    """The values of every field for one letter, nested as templates write them."""
    data: dict[str, Any] = {}
    for section in _SECTIONS.values():
        data.update(section.supply(session, ctx, subject))
    data["courrier"] = {"numero": number}
    # What the letter was made from, kept in its snapshot (a batch resumes by it).
    data["sujet"] = {"compte": str(subject.account_id or ""), "devis": str(subject.quote_id or ""),
                     "intervention": str(subject.intervention_id or "")}
    texts = {f.name.split(".")[-1]: "" for f in _FREE_FIELDS}
    texts.update(free or {})
    data["libre"] = texts
    return data


def example_data() -> dict[str, Any]:
    """Every field with its example value (to try a template without a customer)."""
    data: dict[str, Any] = {}
    for section in _SECTIONS.values():
        for f in section.fields:
            _put(data, f.name, f.example)
        for list_name, row_fields in section.rows.items():
            _put(data, list_name, [{r.name.split(".")[-1]: r.example for r in row_fields}] * 2)
    return data


def _put(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = value


# --- the sections every desk has ---------------------------------------------------------------

def _customer(session: Session, ctx: ServiceContext, subject: Subject) -> dict[str, Any]:
    customer = session.get(Customer, subject.customer_id)
    assert customer is not None
    civility = customer.civility.value if customer.civility and customer.kind.value == "person" \
        else ""
    salutation = {"Mme": "Madame", "M.": "Monsieur", "Mlle": "Mademoiselle"}.get(civility,
                                                                                 "Madame, Monsieur")
    return {"client": {
        "civilite": civility,
        "nom": customer.display_name,
        "nom_complet": f"{civility} {customer.display_name}".strip(),
        "appel": salutation,
        "telephone": customer.mobile or customer.phone,
        "email": customer.email,
    }}


def _account(session: Session, ctx: ServiceContext, subject: Subject) -> dict[str, Any]:
    account = _the_account(session, subject)
    empty_invoice = {"numero": "", "date": "", "echeance": "", "montant": "", "periode": ""}
    if account is None:
        return {"compte": {"numero": "", "solde": amount(ctx, 0), "a_payer": False,
                           "impayes": amount(ctx, 0), "nb_impayes": 0,
                           "derniere_facture": empty_invoice},
                "factures_impayees": []}
    pending = session.info.get("letters_pending")
    if pending is None:  # the same for every letter read in this session
        pending = session.info["letters_pending"] = pending_changes(session)
    balance = balances_of(session, [account.id], pending)[account.id].current_minor
    unpaid = unpaid_invoices(session, account.id, ctx.installation.today())
    arrears = min(max(balance, 0), sum(i.total_minor for i in unpaid))
    last = session.scalars(select(Invoice).where(
        Invoice.account_id == account.id, Invoice.status == InvoiceStatus.ISSUED)
        .order_by(Invoice.issued_on.desc())).first()
    return {
        "compte": {
            "numero": format_account_number(account.number),
            "solde": amount(ctx, balance),
            "a_payer": balance > 0,
            "impayes": amount(ctx, arrears),
            "nb_impayes": len(unpaid),
            "derniere_facture": _invoice_row(ctx, last) if last else empty_invoice,
        },
        "factures_impayees": [_invoice_row(ctx, i) for i in unpaid],
    }


def unpaid_invoices(session: Session, account_id: uuid.UUID, today: date) -> list[Invoice]:
    """Issued invoices past their due date that no payment names."""
    paid = select(Payment.invoice_id).where(Payment.account_id == account_id,
                                            Payment.invoice_id.is_not(None),
                                            Payment.is_cancelled.is_(False))
    return list(session.scalars(select(Invoice).where(
        Invoice.account_id == account_id, Invoice.status == InvoiceStatus.ISSUED,
        Invoice.total_minor > 0, Invoice.id.not_in(paid), Invoice.due_on < today,
    ).order_by(Invoice.issued_on)))


def _invoice_row(ctx: ServiceContext, invoice: Invoice) -> dict[str, str]:
    return {"numero": invoice.number, "date": f"{invoice.issued_on:%d/%m/%Y}",
            "echeance": f"{invoice.due_on:%d/%m/%Y}" if invoice.due_on else "",
            "montant": amount(ctx, invoice.total_minor),
            "periode": invoice.period or ""}


def _the_account(session: Session, subject: Subject) -> Account | None:
    if subject.account_id is not None:
        return session.get(Account, subject.account_id)
    first: dict[uuid.UUID, Account | None] = session.info.setdefault("letters_accounts", {})
    if subject.customer_id not in first:
        first[subject.customer_id] = session.scalars(
            select(Account).where(Account.customer_id == subject.customer_id)
            .order_by(Account.created_at)).first()
    return first[subject.customer_id]


def _premise_meter_contract(session: Session, ctx: ServiceContext,
                            subject: Subject) -> dict[str, Any]:
    account = _the_account(session, subject)
    premise = session.get(Premise, account.billing_premise_id) \
        if account and account.billing_premise_id else None
    contract = session.scalars(select(Contract).where(Contract.account_id == account.id)
                               .order_by(Contract.start_date.desc())).first() if account else None
    meter = None
    if contract is not None:
        meter = session.scalars(select(Meter).where(Meter.connection_id == contract.connection_id,
                                                    Meter.removed_on.is_(None))).first()
        if premise is None:
            connection = session.get(ServiceConnection, contract.connection_id)
            premise = session.get(Premise, connection.premise_id) if connection else None
    address, commune = "", ""
    if premise is not None:
        commune = premise.commune.name
        address = format_address(premise.house_number,
                                 premise.street.name if premise.street else None,
                                 premise.complement, commune)
    return {
        "local": {"adresse": address, "commune": commune,
                  "rue": premise.street.name if premise and premise.street else ""},
        "compteur": {"numero": meter.serial if meter else "",
                     "energie": {"water": "eau", "electricity": "électricité"}.get(
                         meter.energy.value, meter.energy.value) if meter else ""},
        "contrat": {"numero": contract.number if contract else "",
                    "debut": long_date(contract.start_date) if contract else ""},
    }


def _town(address: str) -> str:
    """The town an agency's letters are written from: the last part of its address."""
    parts = [p.strip() for p in address.split(",") if p.strip()]
    return parts[-1] if parts else ""


def _agency_agent_dates(session: Session, ctx: ServiceContext, subject: Subject) -> dict[str, Any]:
    agency = session.get(Agency, ctx.installation.agency_id)
    today = ctx.installation.today()
    return {
        "agence": {"nom": agency.name if agency else ctx.installation.agency_name,
                   "ville": _town(agency.address if agency else ""),
                   "adresse": agency.address if agency else "",
                   "telephone": agency.phone if agency else "",
                   "email": agency.email if agency else ""},
        "agent": {"nom": ctx.user.full_name if ctx.user else "",
                  "fonction": ctx.user.role_label if ctx.user else ""},
        "date": {"jour": long_date(today), "court": f"{today:%d/%m/%Y}",
                 "dans_8_jours": long_date(today + timedelta(days=8)),
                 "dans_15_jours": long_date(today + timedelta(days=15))},
    }


_FREE_FIELDS = (
    Field("libre.objet", "Objet du courrier, saisi au moment de l'émission", "Votre réclamation"),
    Field("libre.texte", "Paragraphe libre saisi au moment de l'émission",
          "Nous avons vérifié votre index de consommation."),
    Field("libre.rendez_vous", "Date et heure de rendez-vous saisies à l'émission",
          "mardi 8 décembre 2026 à 9 h"),
    Field("libre.reference", "Référence citée (réclamation, dossier…)", "RCL-2026-014"),
)


def _free(session: Session, ctx: ServiceContext, subject: Subject) -> dict[str, Any]:
    return {}  # filled from what the agent types; see merge_data


register(Section("client", "Client", (
    Field("client.civilite", "Civilité (M., Mme…)", "Mme"),
    Field("client.nom", "Nom du client ou de l'organisme", "KONÉ Hélène"),
    Field("client.nom_complet", "Civilité et nom", "Mme KONÉ Hélène"),
    Field("client.appel", "Formule d'appel (Madame, Monsieur…)", "Madame"),
    Field("client.telephone", "Téléphone du client", "07 01 02 03 04"),
    Field("client.email", "Adresse électronique du client", "h.kone@exemple.ci"),
), _customer))
register(Section("compte", "Compte", (
    Field("compte.numero", "Numéro du compte", "101 26 0000042 17"),
    Field("compte.solde", "Solde à jour du compte", "12 500 FCFA"),
    Field("compte.a_payer", "Vrai si le compte doit de l'argent (pour les conditions)", True),
    Field("compte.impayes", "Montant des factures échues non réglées", "8 000 FCFA"),
    Field("compte.nb_impayes", "Nombre de factures échues non réglées", 2),
    Field("compte.derniere_facture.numero", "Numéro de la dernière facture", "FC101-2026-000311"),
    Field("compte.derniere_facture.date", "Date de la dernière facture", "02/11/2026"),
    Field("compte.derniere_facture.echeance", "Échéance de la dernière facture", "30/11/2026"),
    Field("compte.derniere_facture.montant", "Montant de la dernière facture", "4 500 FCFA"),
    Field("compte.derniere_facture.periode", "Période de la dernière facture", "2026-10"),
    Field("factures_impayees", "Liste des factures impayées (pour une ligne de tableau répétée)",
          "2 factures"),
), _account, rows={"factures_impayees": (
    Field("facture.numero", "Numéro de la facture", "FC101-2026-000311"),
    Field("facture.date", "Date de la facture", "02/11/2026"),
    Field("facture.echeance", "Échéance", "30/11/2026"),
    Field("facture.montant", "Montant de la facture", "4 500 FCFA"),
    Field("facture.periode", "Période facturée", "2026-10"),
)}))
register(Section("local", "Local, compteur, contrat", (
    Field("local.adresse", "Adresse du local desservi", "12 rue des Jardins, Cocody"),
    Field("local.commune", "Commune du local", "Cocody"),
    Field("local.rue", "Rue du local", "rue des Jardins"),
    Field("compteur.numero", "Numéro du compteur", "E26000042"),
    Field("compteur.energie", "Énergie du compteur (eau, électricité)", "eau"),
    Field("contrat.numero", "Numéro du contrat (abonnement)", "AB101-2026-000042"),
    Field("contrat.debut", "Date de début du contrat", "1er mars 2026"),
), _premise_meter_contract))
register(Section("agence", "Agence, agent, dates", (
    Field("agence.nom", "Nom de l'agence", "Agence de Cocody"),
    Field("agence.adresse", "Adresse de l'agence", "Boulevard Latrille, Abidjan"),
    Field("agence.ville", "Ville de l'agence (dernier élément de son adresse)", "Abidjan"),
    Field("agence.telephone", "Téléphone de l'agence", "27 22 44 00 00"),
    Field("agence.email", "Adresse électronique de l'agence", "cocody@exemple.ci"),
    Field("agent.nom", "Agent qui émet le courrier", "Awa Traoré"),
    Field("agent.fonction", "Fonction de l'agent", "superviseur"),
    Field("date.jour", "Date du jour en toutes lettres", "5 décembre 2026"),
    Field("date.court", "Date du jour (jj/mm/aaaa)", "05/12/2026"),
    Field("date.dans_8_jours", "Date dans 8 jours", "13 décembre 2026"),
    Field("date.dans_15_jours", "Date dans 15 jours", "20 décembre 2026"),
    Field("courrier.numero", "Numéro du courrier (attribué à l'émission)", "CR101-2026-000007"),
), _agency_agent_dates))
register(Section("libre", "Champs libres", _FREE_FIELDS, _free))

# The quote's and intervention's fields (they read the works and interventions tables).
from app.services.letters import fields_works as _fields_works  # noqa: E402,F401
