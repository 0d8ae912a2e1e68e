"""« Le compteur refuse ce code » (the complaint desk): the agent types the meter and the code
the customer says the meter refuses; central decodes it with that meter's keys and the panel
says why in plain French, what to do, and what the code holds (type, date, kWh, key). When a
technician is worth sending, Alt+E files the intervention request in one click (once: a second
click names the open request, Alt+O opens it on the Interventions page)."""

from __future__ import annotations

import uuid
from html import escape as _escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from app.services.interventions.token_refusal import (
    TECHNICIAN_ACTIONS,
    RefusedCode,
    TechnicianRequest,
    request_technician,
)
from app.services.prepaid_desk import CentralUnreachable, TokenDiagnosis, VendRefused
from app.views.prepaid import central_of, named, vending_desk
from app.views.shell import Shell


def escape(text: str) -> str:
    """Text for a rich-text label (Qt does not read ``&#x27;``: apostrophes stay)."""
    return _escape(text, quote=False)


#: Verdicts after which the code will never work (the panel's title turns red).
FINAL = frozenset({"old_key", "old", "key_expired", "other_meter", "not_this_meter",
                   "test_token", "function"})


class RefusalPanel(QGroupBox):
    """Meter + code (Enter: explain); the verdict, what to do and the code's fields."""

    def __init__(self, shell: Shell) -> None:
        super().__init__("Le compteur refuse un code ?")
        self.shell = shell
        self.setObjectName("refusalPanel")
        self.meter = named(QLineEdit(), "refusalMeter")
        self.meter.setPlaceholderText("N° de série ou DRN")
        self.token = named(QLineEdit(), "refusalToken")
        self.token.setPlaceholderText("les 20 chiffres tapés par le client")
        self.explain_button = named(QPushButton("E&xpliquer le refus (Entrée)"), "refusalExplain")
        self.explain_button.clicked.connect(self.explain)
        self.meter.returnPressed.connect(self._meter_entered)
        self.token.returnPressed.connect(self.explain)
        form = QFormLayout()
        form.addRow("Co&mpteur :", self.meter)
        form.addRow("Code re&fusé :", self.token)
        self.verdict = named(QLabel(), "refusalVerdict")
        self.explanation = named(QLabel(), "refusalExplanation")
        self.todo = named(QLabel(), "refusalActions")
        self.details = named(QLabel(), "refusalFields")
        for label in (self.verdict, self.explanation, self.todo, self.details):
            label.setWordWrap(True)
            label.setVisible(False)
        self.technician = named(QPushButton("&Envoyer un technicien"), "refusalTechnician")
        self.technician.setToolTip("Dépose une demande d'intervention (contrôle du compteur) "
                                   "avec ce code et ce verdict (Alt+E)")
        self.technician.clicked.connect(self.send_technician)
        self.open_request = named(QPushButton("&Ouvrir la demande"), "refusalOpenRequest")
        self.open_request.clicked.connect(self.show_request)
        self.filed = named(QLabel(), "refusalFiled")
        self.filed.setWordWrap(True)
        technician = QHBoxLayout()  # one row: the panel must leave the sales table its height
        technician.addWidget(self.technician)
        technician.addWidget(self.open_request)
        technician.addWidget(self.filed, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.explain_button)
        layout.addWidget(self.verdict)
        layout.addWidget(self.explanation)
        layout.addWidget(self.todo)
        layout.addLayout(technician)
        layout.addWidget(self.details)
        layout.addStretch(1)
        self.shown: TokenDiagnosis | None = None
        #: The meter and code the shown verdict is about (the fields may have changed since).
        self.asked: tuple[str, str] = ("", "")
        self.request: TechnicianRequest | None = None
        self._technician_state()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        """Entrée on a focused button presses it (outside a dialog Qt only takes Space)."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            for button in (self.technician, self.open_request, self.explain_button):
                if button.hasFocus():
                    button.click()
                    return
        super().keyPressEvent(event)

    def start(self, meter: str = "") -> None:
        """Ready for a code (the meter kept or given)."""
        if meter:
            self.meter.setText(meter)
        target = self.token if self.meter.text().strip() else self.meter
        target.setFocus()
        target.selectAll()

    def _meter_entered(self) -> None:
        if self.token.text().strip():
            self.explain()
        else:
            self.token.setFocus()

    def explain(self) -> None:
        meter, token = self.meter.text().strip(), self.token.text().strip()
        if not meter:
            self._say("Indiquez le compteur.", problem=True)
            self.meter.setFocus()
            return
        if not token:
            self._say("Tapez le code que le compteur refuse.", problem=True)
            self.token.setFocus()
            return
        shell = self.shell
        connection = central_of(shell, self)

        def ask() -> TokenDiagnosis:
            with vending_desk(shell, connection) as desk:
                return desk.diagnose(meter, token)

        self.asked = (meter, token)

        self._say("Décodage par le serveur central…")
        self.explain_button.setEnabled(False)
        shell.runner.read(ask, on_success=self.show_diagnosis, on_failure=self._failed,
                          parent=self)

    def _say(self, text: str, problem: bool = False) -> None:
        self.verdict.setText(escape(text))
        self.verdict.setStyleSheet("color: #b00020; font-weight: bold;" if problem else "")
        self.verdict.setVisible(True)
        for label in (self.explanation, self.todo, self.details):
            label.setVisible(False)
        self.shown = None
        self._technician_state()

    def _failed(self, error: BaseException) -> None:
        self.explain_button.setEnabled(True)
        if isinstance(error, VendRefused | CentralUnreachable):
            self._say(str(error), problem=True)
            return
        raise error

    def show_diagnosis(self, found: TokenDiagnosis) -> None:
        self.explain_button.setEnabled(True)
        self.shown = found
        colour = "#b00020" if found.verdict in FINAL else "#8a5a00"
        self.verdict.setText(escape(found.title))
        self.verdict.setStyleSheet(f"color: {colour}; font-size: 15pt; font-weight: bold;")
        self.explanation.setText(escape(found.explanation))
        todo = "".join(f"<li>{escape(text)}</li>" for _code, text in found.actions)
        self.todo.setText(f"<b>Que faire :</b><ul style='margin: 0'>{todo}</ul>")
        # One flowing paragraph: the sales table below keeps its height at 1366×768.
        self.details.setText(" · ".join(
            f"<span style='color: #555'>{escape(k)} :</span> {escape(v)}"
            for k, v in found.fields if k != "Compteur"))
        for label in (self.verdict, self.explanation, self.todo, self.details):
            label.setVisible(True)
        self.request = None
        self._technician_state()
        self.token.setFocus()
        self.token.selectAll()

    def technician_useful(self) -> bool:
        """The verdict's « que faire » sends a technician (or checks the credit, after which
        one is sent)."""
        return self.shown is not None and any(
            code in TECHNICIAN_ACTIONS for code, _text in self.shown.actions)

    def _technician_state(self) -> None:
        self.technician.setVisible(self.technician_useful())
        self.technician.setEnabled(True)
        self.open_request.setVisible(self.request is not None)
        if self.request is None:
            self.filed.clear()
            self.filed.setVisible(False)

    def send_technician(self) -> None:
        """Files the intervention request for the shown verdict (in the writer thread)."""
        found = self.shown
        if found is None or not self.technician.isEnabled():
            return
        meter, token = self.asked
        refused = RefusedCode(meter, token, found.verdict, found.title, found.explanation)
        ctx = self.shell.ctx
        self.technician.setEnabled(False)
        self.shell.runner.write(lambda: request_technician(ctx, refused),
                                on_success=self._filed, on_failure=self._not_filed,
                                parent=self)

    def _filed(self, filed: TechnicianRequest) -> None:
        self.request = filed
        self.filed.setText(
            f"Demande déjà déposée : n° {filed.number}" if filed.already
            else f"Demande n° {filed.number} déposée")
        self.open_request.setToolTip(f"La demande {filed.number} dans la page Interventions "
                                     "(Alt+O)")
        self.filed.setStyleSheet("color: #8a5a00; font-weight: bold;" if filed.already
                                 else "color: #1b5e20; font-weight: bold;")
        self._technician_state()
        self.filed.setVisible(True)
        self.open_request.setFocus()

    def _not_filed(self, error: BaseException) -> None:
        from kernel.errors import BusinessError

        self.technician.setEnabled(True)
        if isinstance(error, BusinessError):
            self.filed.setText(escape(str(error)))
            self.filed.setStyleSheet("color: #b00020; font-weight: bold;")
            self.filed.setVisible(True)
            return
        raise error

    def show_request(self) -> None:
        """The filed request on the Interventions page."""
        from app.views.interventions.page import InterventionsPage
        from app.views.main_window import MainWindow

        window = self.window()
        if self.request is None or not isinstance(window, MainWindow):
            return
        request_id: uuid.UUID = self.request.request_id
        window.show_page(InterventionsPage).show_request(request_id, self.request.number)
