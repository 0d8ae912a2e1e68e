"""The merge fields of a works quote (``devis.…``) and of an intervention request
(``intervention.…``), read from the quote or request a letter is made from (``Subject.quote_id``,
``Subject.intervention_id``). A letter made without one gets empty values, never an error."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Commune,
    InterventionRequest,
    Premise,
    Street,
    Technician,
    WorksQuote,
    WorksQuoteLine,
)
from app.services.letters.fields import Field, Section, Subject, amount, long_date, register
from kernel.context import ServiceContext
from kernel.vocabulary import label

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

_QUOTE_KEYS = ("numero", "objet", "date", "validite", "montant", "montant_ht", "tva", "site",
               "statut")
_REQUEST_KEYS = ("numero", "nature", "motif", "date_rdv", "heure_rdv", "creneau", "technicien",
                 "adresse", "contact", "statut")


def hour(moment: datetime) -> str:
    """``9 h``, ``14 h 30``."""
    return f"{moment.hour} h" + (f" {moment.minute:02d}" if moment.minute else "")


def slot(start: datetime, minutes: int) -> str:
    """``mardi 8 décembre 2026 de 9 h à 10 h 30`` (local times)."""
    end = start + timedelta(minutes=minutes)
    return f"{WEEKDAYS[start.weekday()]} {long_date(start.date())} de {hour(start)} à {hour(end)}"


def _site_of_quote(session: Session, quote: WorksQuote) -> str:
    from app.services.works.quotes import party_of

    return party_of(session, quote)[1]


def _quote(session: Session, ctx: ServiceContext, subject: Subject) -> dict[str, Any]:
    quote = session.get(WorksQuote, subject.quote_id) if subject.quote_id else None
    if quote is None:
        return {"devis": dict.fromkeys(_QUOTE_KEYS, ""), "lignes_devis": []}
    lines = session.scalars(select(WorksQuoteLine).where(WorksQuoteLine.quote_id == quote.id)
                            .order_by(WorksQuoteLine.position))
    return {
        "devis": {
            "numero": quote.number,
            "objet": quote.subject,
            "date": long_date(quote.issued_on),
            "validite": long_date(quote.valid_until),
            "montant": amount(ctx, quote.total_minor),
            "montant_ht": amount(ctx, quote.total_excl_vat_minor),
            "tva": amount(ctx, quote.vat_minor),
            "site": _site_of_quote(session, quote),
            "statut": label(quote.status),
        },
        "lignes_devis": [{"designation": line.label,
                          "quantite": f"{line.quantity.normalize():f}".replace(".", ",")
                          + (f" {line.unit}" if line.unit and line.unit != "u" else ""),
                          "montant": amount(ctx, line.amount_minor)} for line in lines],
    }


def _request_address(session: Session, request: InterventionRequest) -> str:
    street = session.get(Street, request.street_id) if request.street_id else None
    commune = session.get(Commune, request.commune_id) if request.commune_id else None
    premise = session.get(Premise, request.premise_id) if request.premise_id else None
    first = " ".join(p for p in (request.house_number, street.name if street else "") if p)
    return ", ".join(p for p in (first, premise.complement if premise else "", request.landmark,
                                 commune.name if commune else "") if p)


def _request(session: Session, ctx: ServiceContext, subject: Subject) -> dict[str, Any]:
    request = session.get(InterventionRequest, subject.intervention_id) \
        if subject.intervention_id else None
    if request is None:
        return {"intervention": dict.fromkeys(_REQUEST_KEYS, "")}
    technician = session.get(Technician, request.technician_id) if request.technician_id else None
    when = ctx.installation.local(request.scheduled_for) if request.scheduled_for else None
    return {"intervention": {
        "numero": request.number,
        "nature": label(request.type),
        "motif": request.description,
        "date_rdv": f"{WEEKDAYS[when.weekday()]} {long_date(when.date())}" if when else "",
        "heure_rdv": hour(when) if when else "",
        "creneau": slot(when, request.duration_minutes) if when else "",
        "technicien": technician.name if technician else "",
        "adresse": _request_address(session, request),
        "contact": request.contact_phone,
        "statut": label(request.status),
    }}


register(Section("devis", "Devis de travaux", (
    Field("devis.numero", "Numéro du devis", "DV101-2026-000012"),
    Field("devis.objet", "Objet du devis", "Extension du réseau d'eau"),
    Field("devis.date", "Date du devis", "3 décembre 2026"),
    Field("devis.validite", "Date de fin de validité du devis", "3 mars 2027"),
    Field("devis.montant", "Montant TTC du devis", "235 000 FCFA"),
    Field("devis.montant_ht", "Montant hors taxes du devis", "199 153 FCFA"),
    Field("devis.tva", "TVA du devis", "35 847 FCFA"),
    Field("devis.site", "Adresse du chantier", "12 rue des Jardins, Cocody"),
    Field("devis.statut", "État du devis (Envoyé, Accepté…)", "Envoyé"),
    Field("lignes_devis", "Lignes du devis (pour une ligne de tableau répétée)", "3 lignes"),
), _quote, rows={"lignes_devis": (
    Field("ligne.designation", "Désignation de la ligne", "Tube PEHD 25 mm"),
    Field("ligne.quantite", "Quantité (et unité)", "12,5 m"),
    Field("ligne.montant", "Montant TTC de la ligne", "17 700 FCFA"),
)}))
register(Section("intervention", "Demande d'intervention", (
    Field("intervention.numero", "Numéro de la demande d'intervention", "DI101-2026-000031"),
    Field("intervention.nature", "Nature de l'intervention", "Remplacement de compteur"),
    Field("intervention.motif", "Motif de la demande (description)", "Compteur bloqué"),
    Field("intervention.date_rdv", "Jour du rendez-vous", "mardi 8 décembre 2026"),
    Field("intervention.heure_rdv", "Heure du rendez-vous", "9 h"),
    Field("intervention.creneau", "Créneau du rendez-vous (jour et heures)",
          "mardi 8 décembre 2026 de 9 h à 10 h"),
    Field("intervention.technicien", "Technicien chargé de l'intervention", "Koffi Yao"),
    Field("intervention.adresse", "Adresse de l'intervention", "12 rue des Jardins, Cocody"),
    Field("intervention.contact", "Téléphone du contact sur place", "07 01 02 03 04"),
    Field("intervention.statut", "État de la demande (Planifiée…)", "Planifiée"),
), _request))
