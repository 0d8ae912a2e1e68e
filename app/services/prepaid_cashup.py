"""The agent's end-of-day cash-up at the prepaid desk (issue 17, *arrêté de caisse*).

For one agent and one day of the agency's time zone: the counter sales the desk holds
(``vend_transaction``, channel *counter*, ``sold_by`` the agent — it comes from central with
the nightly sync), the sales this desk made itself that are not there yet (its own ledger
``prepaid_pending_sale``, rows central answered with a sale, matched on the desk's reference —
``vend_transaction.operator_reference`` — or the receipt, so a sale is counted once whether or
not the night has run), the sales still waiting for central's answer (listed apart, not
counted: nothing is known of them yet) and the counter payments of
invoices the agent received (``payment.received_by``: the agent's full name, as
``app.services.payments`` writes it), their total by means of payment, the reversed, failed or
cancelled ones (listed, not counted), the management tokens (amount 0), the cash expected, the
cash counted (typed), the difference — with a reason when it is not zero.

Two steps, as in a cash office: the agent counts the drawer and **submits** the count
(``submit_count``, again until the day is closed; a provisional report may be printed), then a
supervisor or an administrator **closes** the day (``close_day``, ``close_all``; the role is
checked here): the figures are locked in ``cash_day``, the final report PDF kept as issued
(``document``), the closing audited (who, when, expected, counted, difference). A closed day
takes nothing more (``app.services.cash_days``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    CashDay,
    Document,
    Meter,
    Payment,
    PendingVendSale,
    User,
    VendTransaction,
)
from app.models.capture import set_reason
from app.models.enums import JournalOperation, PaymentMethod, Role, VendChannel, VendStatus
from app.models.ids import new_id, utcnow
from app.services.cash_days import (
    REPORT_KIND,
    Closing,
    Count,
    DayClosed,
    audit,
    cash_day_row,
    cashup_filename,
    closing_of,
    count_of,
    username_of,
)
from app.services.documents.cashup_pdf import CashupReportData, render_cashup
from app.services.prepaid_sales import MANAGING_ROLES, IssuedDocument
from kernel.context import ServiceContext, SignedInUser
from kernel.errors import BusinessError, PermissionDeniedError, ValidationError
from kernel.vocabulary import label

__all__ = ["CASH", "KIND", "SOLD", "WAITING", "AgencyDay", "CashupDay", "CashupLine", "Closing",
           "Count", "DayClosed", "cashup_filename", "close_all", "close_day", "closing_pdf",
           "day_summary", "agency_day", "provisional_pdf", "submit_count"]

KIND = REPORT_KIND
CASH = label(PaymentMethod.CASH)
SOLD = "vente"
WAITING = "en attente de réponse du central"


@dataclass(frozen=True)
class CashupLine:
    receipt: str
    sold_at: datetime  # local
    meter: str
    method: str
    amount_minor: int
    #: "vente", "paiement" (an invoice paid at the counter), "annulée"/"paiement annulé" (not
    #: counted), "jeton de gestion" (amount 0) or WAITING (central's answer not back: not
    #: counted).
    state: str


@dataclass(frozen=True)
class CashupDay:
    agent: str
    day: date
    lines: tuple[CashupLine, ...]
    #: By means of payment; a closed day's as locked at its closing.
    by_method: dict[str, int]
    sales_count: int
    payments_count: int
    voided_count: int
    voided_minor: int
    management_count: int
    #: A closed day's as locked at its closing.
    expected_cash_minor: int
    closing: Closing | None
    #: sales asked of central whose answer has not come back (not counted)
    waiting_count: int = 0
    waiting_minor: int = 0
    #: The agent's submitted count (None: not counted yet).
    count: Count | None = None

    @property
    def total_minor(self) -> int:
        return sum(self.by_method.values())

    @property
    def counted_minor(self) -> int | None:
        """The counted cash: the locked one once closed, else the submitted one."""
        if self.closing is not None and self.closing.counted_minor is not None:
            return self.closing.counted_minor
        return self.count.counted_minor if self.count is not None else None

    @property
    def difference_minor(self) -> int | None:
        counted = self.counted_minor
        return None if counted is None else counted - self.expected_cash_minor

    @property
    def count_is_stale(self) -> bool:
        """Operations came in (or went) after the count: the drawer should be counted again."""
        return (self.closing is None and self.count is not None
                and self.count.expected_minor != self.expected_cash_minor)


@dataclass(frozen=True)
class AgencyDay:
    """Every agent's till of the agency for a day (the supervisor's closing screen)."""

    day: date
    agents: tuple[CashupDay, ...]
    #: user name → full name (the agents who are users of the desk)
    names: dict[str, str] = field(default_factory=dict)

    def name_of(self, agent: str) -> str:
        full = self.names.get(agent)
        return f"{full} ({agent})" if full and full != agent else agent

    @property
    def by_method(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for agent in self.agents:
            for method, amount in agent.by_method.items():
                totals[method] = totals.get(method, 0) + amount
        return totals

    @property
    def expected_cash_minor(self) -> int:
        return sum(agent.expected_cash_minor for agent in self.agents)

    @property
    def counted_minor(self) -> int:
        return sum(agent.counted_minor or 0 for agent in self.agents)


def day_summary(ctx: ServiceContext, agent: str, day: date) -> CashupDay:
    """The figures of the agent's day (its count and its closing, when there are)."""
    with ctx.reading() as session:
        return _summary(ctx, session, agent, day)


def agency_day(ctx: ServiceContext, day: date) -> AgencyDay:
    """Every agent of the agency (active agents and supervisors, and whoever took money that
    day or has a count), with the figures of their day."""
    with ctx.reading() as session:
        agents = set(session.scalars(select(User.username).where(
            User.agency_id == ctx.installation.agency_id, User.is_active,
            User.role.in_((Role.AGENT, Role.SUPERVISOR)))))
        start, end = _bounds(ctx, day)
        agents.update(session.scalars(select(VendTransaction.sold_by).distinct().where(
            VendTransaction.channel == VendChannel.COUNTER, VendTransaction.sold_at >= start,
            VendTransaction.sold_at < end)))
        agents.update(session.scalars(select(PendingVendSale.agent).distinct().where(
            PendingVendSale.created_at >= start, PendingVendSale.created_at < end)))
        agents.update(username_of(session, name) for name in session.scalars(
            select(Payment.received_by).distinct().where(Payment.paid_at >= start,
                                                         Payment.paid_at < end)))
        agents.update(session.scalars(select(CashDay.agent).where(CashDay.day == day)))
        agents.discard("")
        names = {username: full for username, full in session.execute(
            select(User.username, User.full_name).where(User.username.in_(agents)))}
        ordered = sorted(agents, key=lambda a: ((names.get(a) or a).casefold(), a))
        return AgencyDay(day, tuple(_summary(ctx, session, agent, day) for agent in ordered),
                         names)


def submit_count(ctx: ServiceContext, agent: str, day: date, counted_minor: int,
                 reason: str) -> CashupDay:
    """The agent's count of the drawer (their own; a supervisor may type anyone's), submitted
    for the supervisor's closing; submitted again replaces it until the day is closed."""
    user = _signed_in(ctx)
    if agent != user.username and user.role not in MANAGING_ROLES:
        raise PermissionDeniedError("Seul un superviseur compte la caisse d'un autre agent.")
    reason = _checked(counted_minor, reason)
    with ctx.unit_of_work() as uow:
        session = uow.session
        figures = _summary(ctx, session, agent, day)
        _refuse_closed(figures)
        difference = counted_minor - figures.expected_cash_minor
        if difference and len(reason) < 5:
            raise ValidationError({"reason": "Écart de caisse : indiquez le motif "
                                             "(5 caractères au moins)"})
        row, operation = _cash_day(session, agent, day)
        before = row.counted_minor
        row.counted_minor, row.count_reason = counted_minor, reason if difference else ""
        row.counted_by, row.counted_at = user.username, utcnow()
        row.expected_at_count = figures.expected_cash_minor
        fmt = ctx.installation.currency.format_minor
        audit(session, ctx, row, operation, {"counted_minor": [before, counted_minor]},
              f"Comptage de caisse {agent} du {day:%d/%m/%Y} : attendu "
              f"{fmt(figures.expected_cash_minor)}, compté {fmt(counted_minor)}, écart "
              f"{fmt(difference)}" + (f" — motif : {reason}" if difference else ""))
        uow.commit()
    return day_summary(ctx, agent, day)


def close_day(ctx: ServiceContext, agent: str, day: date, counted_minor: int | None = None,
              reason: str | None = None) -> tuple[CashupDay, IssuedDocument]:
    """A supervisor's (or an administrator's) closing of the agent's day: the counted cash
    locked — ``counted_minor`` when the supervisor typed it, else the agent's submitted count
    — the final report kept as issued, audited; refused twice, refused while a sale waits for
    central's answer."""
    user = _signed_in(ctx)
    if user.role not in MANAGING_ROLES:
        raise PermissionDeniedError(
            "Seul un superviseur ou un administrateur clôture une caisse : comptez les espèces "
            "et soumettez le comptage, le superviseur clôture la journée.")
    with ctx.unit_of_work() as uow:
        session = uow.session
        figures = _summary(ctx, session, agent, day)
        _refuse_closed(figures)
        if figures.waiting_count:
            raise BusinessError(
                f"{figures.waiting_count} vente(s) de {agent} attendent encore la réponse du "
                "central : redemandez-les (page Prépayé) avant de clôturer, sinon les espèces "
                "attendues seraient fausses.")
        if counted_minor is None:
            if figures.count is None:
                raise ValidationError({"counted": f"{agent} n'a pas encore soumis son "
                                                  "comptage : tapez les espèces comptées"})
            counted_minor = figures.count.counted_minor
            reason = figures.count.reason if reason is None else reason
        reason = _checked(counted_minor, reason or "")
        difference = counted_minor - figures.expected_cash_minor
        if difference and len(reason) < 5:
            raise ValidationError({"reason": "Écart de caisse : indiquez le motif "
                                             "(5 caractères au moins)"})
        fmt = ctx.installation.currency.format_minor
        closed_at = utcnow()
        pdf = _render(ctx, figures, counted_minor, difference, reason,
                      ctx.installation.local(closed_at), user.username, final=True)
        filename = cashup_filename(agent, day)
        summary = (f"Clôture de caisse {agent} du {day:%d/%m/%Y} par {user.username} : attendu "
                   f"{fmt(figures.expected_cash_minor)}, compté {fmt(counted_minor)}, écart "
                   f"{fmt(difference)}" + (f" — motif : {reason}" if difference else ""))
        set_reason(session, summary[:200])
        session.add(Document(
            agency_id=ctx.installation.agency_id, kind=KIND, filename=filename,
            media_type="application/pdf", content=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf)))
        row, operation = _cash_day(session, agent, day)
        row.closed_by, row.closed_at = user.username, closed_at
        row.expected_minor, row.closed_counted_minor = figures.expected_cash_minor, counted_minor
        row.difference_minor, row.closing_reason = difference, reason if difference else ""
        row.by_method, row.filename = dict(figures.by_method), filename
        audit(session, ctx, row, operation,
              {"closed_by": [None, user.username], "expected_minor":
               [None, figures.expected_cash_minor], "counted_minor": [None, counted_minor],
               "difference_minor": [None, difference]}, summary)
        uow.commit()
    return day_summary(ctx, agent, day), IssuedDocument(filename, pdf)


@dataclass(frozen=True)
class ClosedAll:
    closed: tuple[str, ...]
    #: (agent, why it was left open)
    left_open: tuple[tuple[str, str], ...]


def close_all(ctx: ServiceContext, day: date) -> ClosedAll:
    """Closes every agent's day that has a submitted count (each in its own transaction);
    the others are left open with the reason (not counted, sales waiting, a stale count)."""
    if ctx.user is None or ctx.user.role not in MANAGING_ROLES:
        raise PermissionDeniedError("Seul un superviseur ou un administrateur clôture les "
                                    "caisses.")
    closed: list[str] = []
    left: list[tuple[str, str]] = []
    for figures in agency_day(ctx, day).agents:
        if figures.closing is not None:
            continue
        if figures.count is None:
            if figures.lines:
                left.append((figures.agent, "comptage non soumis"))
            continue
        if figures.count_is_stale:
            left.append((figures.agent, "opérations après le comptage : à recompter"))
            continue
        try:
            close_day(ctx, figures.agent, day)
        except BusinessError as refused:
            left.append((figures.agent, str(refused)))
        else:
            closed.append(figures.agent)
    return ClosedAll(tuple(closed), tuple(left))


def provisional_pdf(ctx: ServiceContext, agent: str, day: date, counted_minor: int | None,
                    reason: str) -> IssuedDocument:
    """The day's report marked PROVISOIRE (not stored, nothing locked): to check before the
    supervisor's closing. A closed day's report is the one issued at its closing."""
    user = _signed_in(ctx)
    if agent != user.username and user.role not in MANAGING_ROLES:
        raise PermissionDeniedError("Seul un superviseur imprime la caisse d'un autre agent.")
    figures = day_summary(ctx, agent, day)
    if figures.closing is not None:
        issued = closing_pdf(ctx, agent, day)
        if issued is not None:
            return issued
    if counted_minor is None:
        counted_minor = figures.counted_minor
    counted = counted_minor if counted_minor is not None else 0
    pdf = _render(ctx, figures, counted, counted - figures.expected_cash_minor,
                  " ".join(reason.split()), ctx.installation.local(utcnow()), user.username,
                  final=False, counted_known=counted_minor is not None)
    return IssuedDocument(f"caisse-provisoire-{agent}-{day:%Y-%m-%d}.pdf", pdf)


def _render(ctx: ServiceContext, figures: CashupDay, counted_minor: int, difference: int,
            reason: str, when: datetime, who: str, *, final: bool,
            counted_known: bool = True) -> bytes:
    return render_cashup(CashupReportData(
        ctx.installation.agency_name, figures.agent, figures.day, when, who,
        tuple((line.receipt, f"{line.sold_at:%H:%M}", line.meter, line.method,
               line.state, line.amount_minor) for line in figures.lines),
        tuple(figures.by_method.items()), figures.sales_count, figures.payments_count,
        figures.voided_count, figures.management_count, figures.expected_cash_minor,
        counted_minor, difference, reason, ctx.installation.currency, final=final,
        counted_known=counted_known,
        counted_by=figures.count.counted_by if figures.count is not None else ""))


def _signed_in(ctx: ServiceContext) -> SignedInUser:
    if ctx.user is None:
        raise PermissionDeniedError("Connectez-vous pour la caisse.")
    return ctx.user


def _checked(counted_minor: int, reason: str) -> str:
    if counted_minor < 0:
        raise ValidationError({"counted": "Le montant compté ne peut pas être négatif"})
    return " ".join(reason.split())


def _cash_day(session: Session, agent: str, day: date) -> tuple[CashDay, JournalOperation]:
    """The agent's row for the day, made when it is the day's first count or closing, with
    the journal operation that writing it is."""
    row = cash_day_row(session, agent, day)
    if row is not None:
        return row, JournalOperation.UPDATE
    row = CashDay(id=new_id(), agent=agent, day=day, count_reason="", counted_by="",
                  closing_reason="", filename="")
    session.add(row)
    return row, JournalOperation.INSERT


def _refuse_closed(figures: CashupDay) -> None:
    if figures.closing is not None:
        raise DayClosed(
            f"La caisse de {figures.agent} du {figures.day:%d/%m/%Y} est déjà clôturée "
            f"(par {figures.closing.closed_by} le "
            f"{figures.closing.closed_at:%d/%m/%Y à %H:%M}).")


def _bounds(ctx: ServiceContext, day: date) -> tuple[datetime, datetime]:
    zone = ctx.installation.zone
    return (datetime.combine(day, time(), zone),
            datetime.combine(day + timedelta(days=1), time(), zone))


def _summary(ctx: ServiceContext, session: Session, agent: str, day: date) -> CashupDay:
    start, end = _bounds(ctx, day)
    rows = session.execute(
        select(VendTransaction, Meter).join(Meter, Meter.id == VendTransaction.meter_id)
        .where(VendTransaction.channel == VendChannel.COUNTER, VendTransaction.sold_by == agent,
               VendTransaction.sold_at >= start, VendTransaction.sold_at < end)
        .order_by(VendTransaction.sold_at, VendTransaction.receipt_number)).all()
    lines: list[CashupLine] = []
    by_method: dict[str, int] = {}
    sales = voided = voided_minor = management = 0
    for sale, meter in rows:
        method = sale.operator_code or CASH
        if sale.status != VendStatus.COMPLETED:
            state = "annulée"
            voided += 1
            voided_minor += sale.amount_minor
        elif sale.amount_minor == 0:
            state = "jeton de gestion"
            management += 1
        else:
            state = SOLD
            sales += 1
            by_method[method] = by_method.get(method, 0) + sale.amount_minor
        lines.append(CashupLine(sale.receipt_number, ctx.installation.local(sale.sold_at),
                                meter.sts_drn or meter.serial, method, sale.amount_minor, state))
    known = select(VendTransaction.id).where(
        (VendTransaction.operator_reference == PendingVendSale.reference)
        | (VendTransaction.receipt_number == PendingVendSale.receipt))
    for own in session.scalars(
            select(PendingVendSale).where(
                PendingVendSale.agent == agent, PendingVendSale.sold_at >= start,
                PendingVendSale.sold_at < end, ~known.exists())):
        assert own.sold_at is not None
        amount = own.sold_amount_minor if own.sold_amount_minor is not None \
            else own.amount_minor
        sales += 1
        by_method[CASH] = by_method.get(CASH, 0) + amount
        lines.append(CashupLine(own.receipt or own.reference,
                                ctx.installation.local(own.sold_at), own.meter, CASH, amount,
                                SOLD))
    waiting = waiting_minor = 0
    for own in session.scalars(
            select(PendingVendSale).where(
                PendingVendSale.agent == agent, PendingVendSale.sold_at.is_(None),
                PendingVendSale.created_at >= start, PendingVendSale.created_at < end)):
        waiting += 1
        waiting_minor += own.amount_minor
        lines.append(CashupLine(own.reference, ctx.installation.local(own.created_at),
                                own.meter, CASH, own.amount_minor, WAITING))
    names = {agent, *session.scalars(select(User.full_name).where(User.username == agent))}
    payments = 0
    for payment, account in session.execute(
            select(Payment, Account).join(Account, Account.id == Payment.account_id)
            .where(Payment.received_by.in_(names), Payment.paid_at >= start,
                   Payment.paid_at < end)):
        method = label(payment.method)
        if payment.is_cancelled:
            state = "paiement annulé"
            voided += 1
            voided_minor += payment.amount_minor
        else:
            state = "paiement"
            payments += 1
            by_method[method] = by_method.get(method, 0) + payment.amount_minor
        lines.append(CashupLine(payment.receipt_number, ctx.installation.local(payment.paid_at),
                                f"compte {account.number}", method, payment.amount_minor, state))
    lines.sort(key=lambda line: (line.sold_at, line.receipt))
    closing = closing_of(ctx, session, agent, day)
    expected = by_method.get(CASH, 0)
    if closing is not None and closing.by_method is not None and closing.expected_minor is not None:
        by_method, expected = dict(closing.by_method), closing.expected_minor
    return CashupDay(agent, day, tuple(lines), by_method, sales, payments, voided, voided_minor,
                     management, expected, closing, waiting, waiting_minor,
                     count_of(ctx, cash_day_row(session, agent, day)))


def closing_pdf(ctx: ServiceContext, agent: str, day: date) -> IssuedDocument | None:
    """The closed day's report as it was issued."""
    filename = cashup_filename(agent, day)
    with ctx.reading() as session:
        pdf = session.scalars(select(Document.content).where(
            Document.kind == KIND, Document.filename == filename)).first()
    return None if pdf is None else IssuedDocument(filename, pdf)
