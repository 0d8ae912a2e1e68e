"""« Le compteur refuse ce code » (the complaint desk): the agent types the meter and the code
the customer says the meter refuses; central decodes it with that meter's keys and the panel
says why in plain French, what to do, and what the code holds (type, date, kWh, key)."""

from __future__ import annotations

from html import escape as _escape

from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
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
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.explain_button)
        layout.addWidget(self.verdict)
        layout.addWidget(self.explanation)
        layout.addWidget(self.todo)
        layout.addWidget(self.details)
        layout.addStretch(1)
        self.shown: TokenDiagnosis | None = None

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
        self.token.setFocus()
        self.token.selectAll()
