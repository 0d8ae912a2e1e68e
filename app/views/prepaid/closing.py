"""*Clôture des caisses* (issue 17), the supervisor's side: every agent of the agency for a day
with the cash expected, counted (the agent's submitted count), the difference and the state; the
totals by means of payment; Entrée closes the chosen agent's day with the counted figure locked
(the supervisor may correct the count: it is then theirs), Alt+T closes every counted till, the
final report of a closed till opens again. The role is checked again by the service."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services.prepaid_cashup import (
    AgencyDay,
    CashupDay,
    ClosedAll,
    agency_day,
    close_all,
    close_day,
    provisional_pdf,
)
from app.services.prepaid_sales import IssuedDocument
from app.views import messages
from app.views.documents import deliver_document
from app.views.prepaid import named
from app.views.prepaid.cashup import PROBLEM, counted_of
from app.views.shell import Shell
from kernel.errors import BusinessError

COLUMNS = ("Agent", "Opérations", "Espèces attendues", "Espèces comptées", "Écart", "État")


ALERT = "#b00020"
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _state_colour(agent: CashupDay) -> str:
    if agent.closing is not None:
        return "#1b5e20"
    if agent.waiting_count or agent.count_is_stale:
        return ALERT
    return "#8a5a00" if agent.count is None and agent.lines else "#1f3a5f"


def state_of(agent: CashupDay) -> str:
    if agent.closing is not None:
        return (f"clôturée par {agent.closing.closed_by} à "
                f"{agent.closing.closed_at:%H:%M}")
    if agent.waiting_count:
        return f"{agent.waiting_count} vente(s) sans réponse du central"
    if agent.count is None:
        return "à compter" if agent.lines else "aucune opération"
    if agent.count_is_stale:
        return "à recompter (opérations après le comptage)"
    return f"comptée à {agent.count.counted_at:%H:%M}"


class ClosingDialog(QDialog):
    """Day; the agents' tills; counted cash and reason of the chosen one; Entrée closes it."""

    def __init__(self, shell: Shell, parent: QWidget) -> None:
        super().__init__(parent)
        self.shell = shell
        self.setWindowTitle("Clôture des caisses de l'agence (superviseur)")
        self.setObjectName("closingDialog")
        self.setMinimumSize(900, 560)
        self.resize(960, 680)  # a 1366×768 screen: the lines get the height
        today = shell.ctx.installation.today()
        self.day = named(QDateEdit(QDate(today.year, today.month, today.day)), "closingDay")
        self.day.setDisplayFormat("dd/MM/yyyy")
        self.day.setCalendarPopup(True)
        self.table = named(QTableWidget(0, len(COLUMNS)), "closingAgents")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.currentCellChanged.connect(lambda *_: self._chosen())
        self.totals = named(QLabel(), "closingTotals")
        self.totals.setWordWrap(True)
        self.counted = named(QLineEdit(), "closingCounted")
        self.counted.setPlaceholderText("le comptage de l'agent, ou le vôtre")
        self.reason = named(QLineEdit(), "closingReason")
        self.reason.setPlaceholderText("obligatoire s'il y a un écart")
        self.close_one = named(QPushButton("&Clôturer la caisse de l'agent (Entrée)"),
                               "closingGo")
        self.close_one.setDefault(True)
        self.close_one.clicked.connect(self.close_agent)
        self.close_every = named(QPushButton("Clôturer &toutes les caisses comptées"),
                                 "closingAll")
        self.close_every.setAutoDefault(False)
        self.close_every.clicked.connect(self.close_counted)
        self.report = named(QPushButton("&Rapport (PDF)"), "closingReport")
        self.report.setAutoDefault(False)
        self.report.clicked.connect(self.open_report)
        self.message = named(QLabel(), "closingMessage")
        self.message.setWordWrap(True)
        top = QFormLayout()
        top.addRow("&Jour :", self.day)
        chosen = QFormLayout()
        chosen.addRow("Espèces &comptées :", self.counted)
        chosen.addRow("&Motif de l'écart :", self.reason)
        buttons = QHBoxLayout()
        buttons.addWidget(self.close_one, 1)
        buttons.addWidget(self.close_every)
        buttons.addWidget(self.report)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.totals)
        layout.addLayout(chosen)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.setTabOrder(self.table, self.counted)
        self.setTabOrder(self.counted, self.reason)
        self.setTabOrder(self.reason, self.close_one)
        self.agency: AgencyDay | None = None
        self.document: IssuedDocument | None = None
        self.day.dateChanged.connect(self.refresh)
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.table.setFocus()

    def _day(self) -> date:
        chosen = self.day.date()
        return date(chosen.year(), chosen.month(), chosen.day())

    def _say(self, text: str, problem: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(PROBLEM if problem else "")

    def refresh(self, keep: str = "") -> None:
        ctx, day = self.shell.ctx, self._day()
        chosen = self.chosen()
        current = keep or (chosen.agent if chosen is not None else "")
        self.shell.runner.read(lambda: agency_day(ctx, day),
                               on_success=lambda found: self._show(found, current),
                               on_failure=self._failed, parent=self)

    def _show(self, agency: AgencyDay, keep: str = "") -> None:
        self.agency = agency
        fmt = self.shell.ctx.installation.currency.format_minor
        self.table.setRowCount(len(agency.agents))
        for row, agent in enumerate(agency.agents):
            counted, difference = agent.counted_minor, agent.difference_minor
            operations = agent.sales_count + agent.payments_count
            values = (agency.name_of(agent.agent), str(operations),
                      fmt(agent.expected_cash_minor), "—" if counted is None else fmt(counted),
                      "—" if difference is None else fmt(difference), state_of(agent))
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column in (1, 2, 3, 4):
                    item.setTextAlignment(RIGHT)
                if column == 4 and difference:
                    item.setForeground(QColor(ALERT))
                if column == 5:
                    item.setForeground(QColor(_state_colour(agent)))
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        methods = " ; ".join(f"{m} : {fmt(v)}" for m, v in agency.by_method.items()) or "—"
        closed = sum(1 for a in agency.agents if a.closing is not None)
        self.totals.setText(
            f"<b>Agence, par moyen de paiement :</b> {methods}<br>"
            f"<b>Espèces attendues : {fmt(agency.expected_cash_minor)} — comptées : "
            f"{fmt(agency.counted_minor)}</b> — caisses clôturées : {closed} sur "
            f"{len(agency.agents)}")
        kept = next((n for n, a in enumerate(agency.agents) if a.agent == keep), None)
        row = kept if kept is not None else next(
            (n for n, a in enumerate(agency.agents) if a.closing is None and a.count is not None),
            0)
        if agency.agents:
            self.table.setCurrentCell(row, 0)
        self.close_every.setEnabled(bool(self._ready()))
        self._chosen()

    def _ready(self) -> list[str]:
        """The tills « Clôturer toutes » would close: counted, not stale, nothing waiting."""
        if self.agency is None:
            return []
        return [a.agent for a in self.agency.agents if a.closing is None and a.count is not None
                and not a.count_is_stale and not a.waiting_count]

    def chosen(self) -> CashupDay | None:
        if self.agency is None:
            return None
        row = self.table.currentRow()
        return self.agency.agents[row] if 0 <= row < len(self.agency.agents) else None

    def _chosen(self) -> None:
        agent = self.chosen()
        currency = self.shell.ctx.installation.currency
        closed = agent is not None and agent.closing is not None
        for widget in (self.counted, self.reason):
            widget.setEnabled(agent is not None and not closed)
        self.counted.setText("" if agent is None or agent.counted_minor is None
                             else currency.format_minor(agent.counted_minor))
        self.reason.setText(agent.count.reason if agent is not None and agent.count else "")
        if agent is None:
            self.close_one.setEnabled(False)
            self._say("Aucun agent n'a de caisse ce jour.")
            return
        self.close_one.setEnabled(True)
        name = self.agency.name_of(agent.agent) if self.agency is not None else agent.agent
        if closed:
            assert agent.closing is not None
            self.close_one.setText("&Ouvrir le rapport de clôture (Entrée)")
            self._say(f"Caisse de {name} clôturée par {agent.closing.closed_by} le "
                      f"{agent.closing.closed_at:%d/%m/%Y à %H:%M} : les chiffres ne changent "
                      "plus.")
            return
        self.close_one.setText(f"&Clôturer la caisse de {name} (Entrée)")
        if agent.waiting_count:
            self._say(f"{name} a {agent.waiting_count} vente(s) sans réponse du central : "
                      "à redemander sur la page Prépayé avant la clôture.", problem=True)
        elif agent.count is None:
            self._say(f"{name} n'a pas soumis de comptage : comptez le tiroir avec "
                      "l'agent et tapez les espèces comptées.")
        elif agent.count_is_stale:
            self._say(f"Des opérations sont arrivées après le comptage de {name} : "
                      "faites recompter.", problem=True)
        else:
            self._say(f"Comptage de {name} soumis à {agent.count.counted_at:%H:%M} : "
                      "Entrée clôture la caisse avec ce montant.")

    def close_agent(self) -> None:
        agent = self.chosen()
        if agent is None:
            return
        if agent.closing is not None:
            self.open_report()
            return
        currency, ctx = self.shell.ctx.installation.currency, self.shell.ctx
        counted = counted_of(currency, self.counted.text())
        if counted is None:
            self._say("Tapez les espèces comptées, puis Entrée.", problem=True)
            self.counted.setFocus()
            return
        if counted != agent.expected_cash_minor and len(self.reason.text().strip()) < 5:
            self._say("Il y a un écart : tapez le motif (5 caractères au moins), puis Entrée.",
                      problem=True)
            self.reason.setFocus()
            return
        name, day, reason = agent.agent, agent.day, self.reason.text()
        self.close_one.setEnabled(False)
        self.shell.runner.write(lambda: close_day(ctx, name, day, counted, reason),
                                on_success=self._closed, on_failure=self._failed, parent=self)

    def _closed(self, outcome: tuple[CashupDay, IssuedDocument]) -> None:
        summary, self.document = outcome
        self.close_one.setEnabled(True)
        self.refresh(keep=summary.agent)
        deliver_document(self, self.shell.settings.data_dir, self.document.filename,
                         self.document.pdf, title="Clôture de caisse",
                         what=f"Caisse de {summary.agent} clôturée : rapport définitif "
                              "enregistré, à imprimer et signer.")

    def close_counted(self) -> None:
        if self.agency is None:
            return
        ready = [self.agency.name_of(a) for a in self._ready()]
        if not ready:
            self._say("Aucune caisse comptée à clôturer.", problem=True)
            return
        if not messages.confirm(self, "Clôturer les caisses",
                                f"Clôturer les caisses comptées de {', '.join(ready)} avec le "
                                "montant soumis par chaque agent ?"):
            return
        ctx, day = self.shell.ctx, self._day()
        self.close_every.setEnabled(False)
        self.shell.runner.write(lambda: close_all(ctx, day), on_success=self._closed_all,
                                on_failure=self._failed, parent=self)

    def _closed_all(self, done: ClosedAll) -> None:
        self.close_every.setEnabled(True)
        text = f"Clôturées : {', '.join(done.closed) or 'aucune'}."
        if done.left_open:
            text += " Restent ouvertes : " + " ; ".join(
                f"{who} ({why})" for who, why in done.left_open) + "."
        self._say(text, problem=bool(done.left_open))
        self.refresh()

    def open_report(self) -> None:
        agent = self.chosen()
        if agent is None:
            return
        ctx, name, day = self.shell.ctx, agent.agent, agent.day
        counted = counted_of(ctx.installation.currency, self.counted.text())
        reason = self.reason.text()
        self.shell.runner.read(lambda: provisional_pdf(ctx, name, day, counted, reason),
                               on_success=self._deliver, on_failure=self._failed, parent=self)

    def _deliver(self, document: IssuedDocument) -> None:
        self.document = document
        final = document.filename.startswith("cloture-")
        deliver_document(self, self.shell.settings.data_dir, document.filename, document.pdf,
                         title="Clôture de caisse",
                         what="Rapport de clôture (tel qu'émis)." if final else
                         "Rapport PROVISOIRE : la caisse n'est pas clôturée.")

    def _failed(self, error: BaseException) -> None:
        self.close_one.setEnabled(True)
        self.close_every.setEnabled(True)
        if isinstance(error, BusinessError):
            self._say(str(error), problem=True)
            return
        raise error
