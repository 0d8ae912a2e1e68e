"""*Arrêté de caisse* (issue 17), the agent's side: the day's counter sales and invoice
payments, the totals by means of payment, the cash expected; the agent types the cash counted
and Entrée submits the count (a reason is asked when it differs); a provisional report may be
printed. The supervisor closes the day (``app.views.prepaid.closing``); a closed day shows who
closed it and Entrée opens its final report. The figures are the service's."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
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
    CashupDay,
    closing_pdf,
    day_summary,
    provisional_pdf,
    submit_count,
)
from app.services.prepaid_sales import MANAGING_ROLES, IssuedDocument
from app.views.documents import deliver_document
from app.views.prepaid import named
from app.views.shell import Shell
from kernel.errors import BusinessError
from kernel.money import Currency

PROBLEM = "color: #b00020; font-weight: bold;"
DONE = "color: #1b5e20; font-weight: bold;"
#: The supervisor's closing screen (declared with the page in ``app.views.modules``).
CLOSING_KEYS = "Ctrl+Maj+V"


def counted_of(currency: Currency, text: str) -> int | None:
    """The typed cash in minor units (None: unreadable or empty)."""
    try:
        return currency.exact_minor(currency.parse(text))
    except BusinessError:
        return None


def totals_text(summary: CashupDay, currency: Currency) -> str:
    fmt = currency.format_minor
    methods = " ; ".join(f"{m} : {fmt(v)}" for m, v in summary.by_method.items()) or "—"
    return (f"<b>{summary.sales_count} recharge(s), {summary.payments_count} paiement(s) de "
            f"facture</b><br>Par moyen de paiement : {methods}<br>"
            f"Annulées (non comptées) : {summary.voided_count} ({fmt(summary.voided_minor)}) — "
            f"jetons de gestion : {summary.management_count}<br>"
            f"<b>Espèces attendues : {fmt(summary.expected_cash_minor)}</b>")


class CashupDialog(QDialog):
    """Agent (supervisors may change it), day, the lines; counted cash, reason; Entrée
    submits the count; Alt+P a provisional report; Échap closes."""

    def __init__(self, shell: Shell, parent: QWidget) -> None:
        super().__init__(parent)
        self.shell = shell
        ctx = shell.ctx
        self.setWindowTitle("Arrêté de caisse — comptage de l'agent")
        self.setObjectName("cashupDialog")
        self.setMinimumSize(860, 600)
        self.resize(960, 680)  # a 1366×768 screen: the lines get the height
        self.agent = named(QLineEdit(ctx.actor.username), "cashupAgent")
        self.agent.setEnabled(ctx.user is not None and ctx.user.role in MANAGING_ROLES)
        today = ctx.installation.today()
        self.day = named(QDateEdit(QDate(today.year, today.month, today.day)), "cashupDay")
        self.day.setDisplayFormat("dd/MM/yyyy")
        self.day.setCalendarPopup(True)
        self.table = named(QTableWidget(0, 6), "cashupLines")
        self.table.setHorizontalHeaderLabels(
            ["Reçu", "Heure", "Compteur / compte", "Paiement", "État", "Montant"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.totals = named(QLabel(), "cashupTotals")
        self.totals.setMinimumHeight(self.totals.fontMetrics().lineSpacing() * 4 + 4)
        self.waiting = named(QLabel(), "cashupWaiting")
        self.waiting.setWordWrap(True)
        self.waiting.setStyleSheet(PROBLEM)
        self.waiting.setVisible(False)
        self.counted = named(QLineEdit(), "cashupCounted")
        self.counted.setPlaceholderText("ex. 125 000")
        self.reason = named(QLineEdit(), "cashupReason")
        self.reason.setPlaceholderText("obligatoire s'il y a un écart")
        self.go = named(QPushButton("&Soumettre le comptage (Entrée)"), "cashupGo")
        self.go.setDefault(True)
        self.go.clicked.connect(self.submit)
        self.preview = named(QPushButton("Rapport &provisoire (PDF)"), "cashupPreview")
        self.preview.setAutoDefault(False)
        self.preview.clicked.connect(self.print_provisional)
        self.message = named(QLabel(), "cashupMessage")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("A&gent :", self.agent)
        form.addRow("&Jour :", self.day)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.totals)
        layout.addWidget(self.waiting)
        counted = QFormLayout()
        counted.addRow("Espèces &comptées :", self.counted)
        counted.addRow("&Motif de l'écart :", self.reason)
        layout.addLayout(counted)
        buttons = QHBoxLayout()
        buttons.addWidget(self.go, 1)
        buttons.addWidget(self.preview)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.setTabOrder(self.counted, self.reason)
        self.setTabOrder(self.reason, self.go)
        self.setTabOrder(self.go, self.preview)
        self.summary: CashupDay | None = None
        self.document: IssuedDocument | None = None
        self.day.dateChanged.connect(self.refresh)
        self.agent.editingFinished.connect(self.refresh)
        self.counted.textChanged.connect(self._counted_changed)
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.counted.setFocus()

    def _day(self) -> date:
        chosen = self.day.date()
        return date(chosen.year(), chosen.month(), chosen.day())

    def _say(self, text: str, problem: bool = False, done: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(PROBLEM if problem else DONE if done else "")

    def refresh(self) -> None:
        ctx, agent, day = self.shell.ctx, self.agent.text().strip(), self._day()
        self.shell.runner.read(lambda: day_summary(ctx, agent, day),
                               on_success=self._show, on_failure=self._failed, parent=self)

    def _show(self, summary: CashupDay) -> None:
        self.summary = summary
        currency = self.shell.ctx.installation.currency
        fmt = currency.format_minor
        self.table.setRowCount(len(summary.lines))
        for row, line in enumerate(summary.lines):
            for column, value in enumerate((line.receipt, f"{line.sold_at:%H:%M}", line.meter,
                                            line.method, line.state, fmt(line.amount_minor))):
                item = QTableWidgetItem(value)
                if column == 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.totals.setText(totals_text(summary, currency))
        self.waiting.setText(
            f"Attention : {summary.waiting_count} vente(s) en attente de réponse du central "
            f"({fmt(summary.waiting_minor)}), non comptées dans les espèces attendues. "
            "Redemandez-les sur la page Prépayé (« Redemander la vente en attente ») : le "
            "superviseur ne peut pas clôturer avant.")
        self.waiting.setVisible(bool(summary.waiting_count))
        closed = summary.closing
        for widget in (self.counted, self.reason):
            widget.setEnabled(closed is None)
        if closed is not None:
            self.go.setText("&Ouvrir le rapport de clôture (Entrée)")
            self.preview.setVisible(False)
            self._say(f"Journée clôturée par {closed.closed_by} le "
                      f"{closed.closed_at:%d/%m/%Y à %H:%M} : les chiffres ne changent plus. "
                      f"{closed.summary}")
            return
        self.preview.setVisible(True)
        count = summary.count
        if count is None:
            self.go.setText("&Soumettre le comptage (Entrée)")
            self._counted_changed()
            return
        self.go.setText("&Soumettre un nouveau comptage (Entrée)")
        if not self.counted.text().strip():
            self.counted.setText(currency.format_minor(count.counted_minor))
            self.reason.setText(count.reason)
        if summary.count_is_stale:
            self._say(f"Des opérations ont changé la caisse depuis le comptage de "
                      f"{count.counted_at:%H:%M} (attendu alors {fmt(count.expected_minor)}, "
                      f"maintenant {fmt(summary.expected_cash_minor)}) : recomptez et "
                      "soumettez à nouveau.", problem=True)
        else:
            difference = count.counted_minor - summary.expected_cash_minor
            gap = (f", écart {fmt(difference)} (motif : {count.reason})" if difference
                   else ", pas d'écart")
            self._say(f"Comptage soumis à {count.counted_at:%H:%M} par {count.counted_by} : "
                      f"{fmt(count.counted_minor)}{gap}. Le superviseur clôture la journée "
                      f"({CLOSING_KEYS}) ; jusque-là vous pouvez recompter.", done=True)

    def _counted_changed(self) -> None:
        if self.summary is None or self.summary.closing is not None:
            return
        counted = counted_of(self.shell.ctx.installation.currency, self.counted.text())
        if counted is None:
            self._say("Tapez les espèces comptées dans le tiroir, puis Entrée pour soumettre "
                      "le comptage au superviseur.")
            return
        difference = counted - self.summary.expected_cash_minor
        fmt = self.shell.ctx.installation.currency.format_minor
        self._say("Pas d'écart : Entrée soumet le comptage." if not difference else
                  f"Écart : {fmt(difference)} — indiquez le motif.", problem=bool(difference))

    def submit(self) -> None:
        if self.summary is None:
            return
        if self.summary.closing is not None:
            self._reopen()
            return
        currency, ctx = self.shell.ctx.installation.currency, self.shell.ctx
        try:
            counted = currency.exact_minor(currency.parse(self.counted.text()))
        except BusinessError as error:
            self._say(str(error), problem=True)
            self.counted.setFocus()
            return
        if counted != self.summary.expected_cash_minor and len(self.reason.text().strip()) < 5:
            self._say("Il y a un écart : tapez le motif (5 caractères au moins), puis Entrée.",
                      problem=True)
            self.reason.setFocus()
            return
        agent, day, reason = self.summary.agent, self.summary.day, self.reason.text()
        self.go.setEnabled(False)
        self.shell.runner.write(lambda: submit_count(ctx, agent, day, counted, reason),
                                on_success=self._submitted, on_failure=self._failed,
                                parent=self)

    def _submitted(self, summary: CashupDay) -> None:
        self.go.setEnabled(True)
        self._show(summary)
        self.go.setFocus()

    def print_provisional(self) -> None:
        if self.summary is None:
            return
        ctx, agent, day = self.shell.ctx, self.summary.agent, self.summary.day
        counted = counted_of(ctx.installation.currency, self.counted.text())
        reason = self.reason.text()
        self.shell.runner.read(lambda: provisional_pdf(ctx, agent, day, counted, reason),
                               on_success=self._deliver, on_failure=self._failed, parent=self)

    def _reopen(self) -> None:
        assert self.summary is not None
        ctx, agent, day = self.shell.ctx, self.summary.agent, self.summary.day
        self.shell.runner.read(lambda: closing_pdf(ctx, agent, day),
                               on_success=self._deliver, on_failure=self._failed, parent=self)

    def _deliver(self, document: IssuedDocument | None) -> None:
        if document is not None:
            self.document = document
            final = document.filename.startswith("cloture-")
            deliver_document(self, self.shell.settings.data_dir, document.filename,
                             document.pdf, title="Arrêté de caisse",
                             what="Rapport de clôture (tel qu'émis)." if final else
                             "Rapport PROVISOIRE : la journée n'est pas clôturée.")

    def _failed(self, error: BaseException) -> None:
        self.go.setEnabled(True)
        if isinstance(error, BusinessError):
            self._say(str(error), problem=True)
            return
        raise error
