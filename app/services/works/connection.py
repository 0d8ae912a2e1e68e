"""A connection quote ends in a connected customer: once the works are done (the completion
report gives the meter's serial, its first index and the date), the premise gets its service
connection, the meter and the contract on the tariff chosen on the quote, in one transaction.
The new customer can be billed the same day; nothing is typed twice.

The interventions module calls ``connect_from_quote`` when a "works" intervention carrying a
connection quote is completed; the quote screen offers it by hand until then.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Meter, ServiceConnection, Tariff, WorksQuote
from app.models.enums import ConnectionStatus, Energy, MeterPayment, MeterStatus, QuoteStatus
from app.services.occupancy import _move_in
from kernel.context import ServiceContext
from kernel.errors import BusinessError, NotFoundError, ValidationError
from kernel.identifiers import validate_drn, validate_meter_serial
from kernel.numbering import Series, next_number

#: The quote's works were ordered (or already invoiced) before the site is connected.
CONNECTABLE = frozenset({QuoteStatus.ORDERED, QuoteStatus.INVOICED})


@dataclass(frozen=True)
class Connected:
    connection_id: uuid.UUID
    connection_reference: str
    meter_id: uuid.UUID
    contract_id: uuid.UUID
    contract_number: str
    account_id: uuid.UUID


def connect_from_quote(ctx: ServiceContext, quote_id: uuid.UUID, meter_serial: str,
                       first_index: int, installed_on: date, digits: int = 6,
                       sts_drn: str = "") -> Connected:
    """By hand (the quote screen's *Mettre en service…*): in a transaction of its own."""
    with ctx.unit_of_work() as uow:
        quote = uow.session.get(WorksQuote, quote_id)
        if quote is None:
            raise NotFoundError("Devis introuvable.")
        connected = connect_quote(ctx, uow.session, quote, meter_serial, first_index,
                                  installed_on, digits, sts_drn)
        uow.commit()
        return connected


def is_connection_quote(session: Session, quote: WorksQuote) -> bool:
    """A quote whose works end in a new connection (it names the contract's tariff)."""
    return quote.tariff_id is not None and session.get(Tariff, quote.tariff_id) is not None


def is_prepaid_quote(session: Session, quote: WorksQuote) -> bool:
    tariff = session.get(Tariff, quote.tariff_id) if quote.tariff_id else None
    return tariff is not None and tariff.payment is MeterPayment.PREPAID


#: The STS parameters a new prepaid meter shares with the agency's others of its energy (the
#: utility's issuer, supply group, algorithm and key generation); its DRN is its own.
_STS_SHARED = ("sts_iin", "sts_sgc", "sts_tariff_index", "sts_key_revision", "sts_key_type",
               "sts_key_expiry", "sts_algorithm", "sts_dkga", "sts_base_date")


def _prepaid_identity(session: Session, energy: Energy, drn: str) -> dict[str, object]:
    """The new meter's STS identity: its DRN (checked), and the parameters of the agency's
    most recently installed prepaid meter of the same energy."""
    if not drn.strip():
        raise ValidationError({"sts_drn": "Indiquez le numéro STS (DRN) du compteur posé"})
    try:
        number = validate_drn(drn)
    except ValidationError as error:
        raise ValidationError({"sts_drn": error.fields["drn"]}) from error
    if session.scalar(select(Meter.id).where(Meter.sts_drn == number)) is not None:
        raise ValidationError({"sts_drn": f"Le numéro STS {number} est déjà celui d'un compteur"})
    model = session.scalars(select(Meter).where(
        Meter.energy == energy, Meter.payment == MeterPayment.PREPAID,
        Meter.sts_drn.is_not(None)).order_by(Meter.installed_on.desc().nulls_last())
        .limit(1)).first()
    if model is None:
        raise BusinessError("Aucun compteur à prépaiement de l'agence ne donne les paramètres "
                            "STS (groupe d'approvisionnement, clé) : le premier se déclare "
                            "avec le siège.")
    return {"sts_drn": number, **{name: getattr(model, name) for name in _STS_SHARED}}


def connect_quote(ctx: ServiceContext, session: Session, quote: WorksQuote, meter_serial: str,
                  first_index: int, installed_on: date, digits: int = 6,
                  sts_drn: str = "") -> Connected:
    """The connection, its meter (installed, its first index) and the contract, in the caller's
    session and transaction: the interventions module's completion report closes the works
    job and connects the site in one commit. A prepaid tariff's meter gets its STS identity
    (``sts_drn``, the agency's STS parameters) and the tariff its vends are priced on: credit
    can be sold for it once central has it (the synchronisation)."""
    from app.services.works.invoicing import customer_for

    serial = validate_meter_serial(meter_serial)
    if installed_on > ctx.installation.today():
        raise ValidationError({"installed_on": "La date de pose ne peut pas être dans le futur"})
    if not 4 <= digits <= 9:
        raise ValidationError({"digits": "Un compteur a de 4 à 9 chiffres"})
    if not 0 <= first_index < 10 ** digits:
        raise ValidationError({"first_index": f"L'index de pose a {digits} chiffres au plus"})
    if quote.status not in CONNECTABLE:
        raise BusinessError(f"Les travaux du devis {quote.number} ne sont pas commandés : "
                            "le branchement se crée quand ils sont faits.")
    tariff = session.get(Tariff, quote.tariff_id) if quote.tariff_id else None
    if tariff is None:
        raise BusinessError(f"Le devis {quote.number} n'indique pas le tarif de "
                            "l'abonnement : ce n'est pas un devis de branchement.")
    if session.scalar(select(Meter.id).where(Meter.serial == serial)) is not None:
        raise ValidationError({"serial": f"Le compteur {serial} existe déjà"})
    prepaid: dict[str, object] = {}
    if tariff.payment is MeterPayment.PREPAID:
        prepaid = _prepaid_identity(session, tariff.energy, sts_drn) | {
            "prepaid_tariff_id": tariff.id}
    account = customer_for(ctx, session, quote)
    if quote.premise_id is None:
        raise BusinessError(f"Le devis {quote.number} n'a pas de propriété : faites une "
                            "révision pour une propriété du client.")
    existing = session.scalar(select(ServiceConnection.reference).where(
        ServiceConnection.premise_id == quote.premise_id,
        ServiceConnection.energy == tariff.energy,
        ServiceConnection.status == ConnectionStatus.ACTIVE))
    if existing is not None:
        raise BusinessError(f"La propriété a déjà le branchement {existing} : il n'y a "
                            "rien à créer.")
    connection = ServiceConnection(
        agency_id=ctx.installation.agency_id,
        reference=next_number(session, ctx.installation.agency_code, Series.CONNECTION,
                              installed_on.year),
        premise_id=quote.premise_id, energy=tariff.energy, status=ConnectionStatus.ACTIVE,
        installed_on=installed_on,
    )
    session.add(connection)
    session.flush()
    meter = Meter(agency_id=ctx.installation.agency_id, serial=serial, energy=tariff.energy,
                  payment=tariff.payment, status=MeterStatus.INSTALLED,
                  connection_id=connection.id, digits=digits, initial_index=first_index,
                  installed_on=installed_on, **prepaid)
    session.add(meter)
    session.flush()
    contract = _move_in(ctx, session, connection.id, account.id, installed_on, first_index,
                        tariff.id)
    return Connected(connection.id, connection.reference, meter.id, contract.id,
                     contract.number, account.id)


def connection_tariffs(ctx: ServiceContext) -> list[tuple[uuid.UUID, str]]:
    """The tariffs in force today (postpaid and prepaid), for the tariff a connection quote
    leads to."""
    today = ctx.installation.today()
    with ctx.reading() as session:
        return [(t.id, t.name) for t in session.scalars(
            select(Tariff).where(Tariff.valid_from <= today,
                                 Tariff.valid_to.is_(None) | (Tariff.valid_to >= today))
            .order_by(Tariff.name))]
