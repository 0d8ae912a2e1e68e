"""Requests other modules make by themselves, in their own transaction: the reconnection of a
disconnected account whose debt has just been paid at the counter, and the works ordered from an
approved quote (the quote's lines are the job's content)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from app.models import (
    Contract,
    InterventionLine,
    InterventionRequest,
    Meter,
    ServiceConnection,
    WorksCatalogueItem,
    WorksQuote,
)
from app.models.enums import (
    ConnectionStatus,
    ContractStatus,
    InterventionPriority,
    InterventionType,
    MeterStatus,
    QuoteStatus,
    RequestChannel,
)
from app.services.interventions.requests import OPEN_STATUSES, RequestInput, new_request
from kernel.context import ServiceContext
from kernel.errors import BusinessError


def reconnection_after_payment(session: Session, ctx: ServiceContext, account_id: uuid.UUID,
                               remaining_minor: int, receipt_number: str) -> list[str]:
    """Once the account owes nothing, a reconnection request for each of its connections that
    is cut off and has none open yet. Returns the numbers of the requests made."""
    if remaining_minor > 0:
        return []
    connections = session.scalars(
        select(ServiceConnection)
        .join(Contract, Contract.connection_id == ServiceConnection.id)
        .where(Contract.account_id == account_id, Contract.status == ContractStatus.ACTIVE,
               ServiceConnection.status == ConnectionStatus.CUT_OFF)
        .distinct()
    ).all()
    made = []
    for connection in connections:
        already = session.scalar(
            select(InterventionRequest.id).where(
                InterventionRequest.type == InterventionType.RECONNECTION,
                InterventionRequest.premise_id == connection.premise_id,
                InterventionRequest.status.in_(OPEN_STATUSES),
            ).limit(1))
        if already is not None:
            continue
        meter_id = session.scalar(
            select(Meter.id).where(Meter.connection_id == connection.id,
                                   Meter.status == MeterStatus.INSTALLED).limit(1))
        request = new_request(session, ctx, RequestInput(
            type=InterventionType.RECONNECTION,
            priority=InterventionPriority.HIGH,
            channel=RequestChannel.COUNTER,
            description=(f"Remise en service du branchement {connection.reference} : la dette "
                         f"du compte est réglée (reçu {receipt_number})."),
            account_id=account_id,
            premise_id=connection.premise_id,
            meter_id=meter_id,
            energy=connection.energy,
        ), confirmed_duplicate=True, note=f"Demande automatique après le reçu {receipt_number}")
        made.append(request.number)
    return made


def create_works_request(ctx: ServiceContext, quote: WorksQuote) -> InterventionRequest:
    """The job of an approved quote, in the quote's session and transaction (the quote side's
    ``order_works`` calls it): the quote's lines become the job's content. Ordering the same
    quote twice gives back the request already made."""
    session = object_session(quote)
    if session is None:
        raise ValueError("the quote must belong to a session")
    if quote.status not in (QuoteStatus.APPROVED, QuoteStatus.ORDERED, QuoteStatus.INVOICED):
        raise BusinessError(f"Le devis {quote.number} n'est pas accepté : les travaux ne "
                            "peuvent pas être commandés.")
    existing = session.scalars(select(InterventionRequest).where(
        InterventionRequest.quote_id == quote.id,
        InterventionRequest.type == InterventionType.WORKS)).first()
    if existing is not None:
        return existing
    energies = {session.get(WorksCatalogueItem, line.catalogue_item_id).energy  # type: ignore[union-attr]
                for line in quote.lines if line.catalogue_item_id is not None}
    energies.discard(None)
    lines = [f"• {line.label} ({line.quantity.normalize():f} {line.unit})" for line in quote.lines]
    subject = f" — {quote.subject}" if quote.subject else ""
    prospect = " ".join(p for p in (quote.prospect_last_name.upper(),
                                    quote.prospect_first_name) if p)
    request = new_request(session, ctx, RequestInput(
        type=InterventionType.WORKS,
        priority=InterventionPriority.NORMAL,
        channel=RequestChannel.QUOTE,
        description=f"Travaux du devis {quote.number}{subject}\n" + "\n".join(lines),
        reporter_name=quote.approved_by or prospect,
        contact_name=prospect,
        contact_phone=quote.prospect_phone,
        customer_id=quote.customer_id,
        account_id=quote.account_id,
        premise_id=quote.premise_id,
        # A prospect's quote (no customer yet): the site is the quote's address.
        commune_id=quote.commune_id,
        street_id=quote.prospect_street_id,
        house_number=quote.prospect_house_number,
        landmark=quote.prospect_complement
        or ("" if quote.prospect_street_id else f"Chantier du devis {quote.number}"),
        energy=energies.pop() if len(energies) == 1 else None,
        duration_minutes=min(max(60, 60 * len(quote.lines)), 8 * 60),
    ), confirmed_duplicate=True, note=f"Commandé depuis le devis {quote.number}")
    request.quote_id = quote.id
    for position, line in enumerate(quote.lines, start=1):
        session.add(InterventionLine(
            agency_id=request.agency_id, request_id=request.id, kind="task", position=position,
            label=line.label, quantity=line.quantity, unit=line.unit, quote_line_id=line.id,
            catalogue_item_id=line.catalogue_item_id))
    session.flush()
    return request
