"""The first start of a new desk: a demo agency to try the program, or the agency's real central
server to join (its address, the agency code and the agency's credential)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.views.forms import FieldErrors


@dataclass(frozen=True)
class FirstStartChoice:
    demo: bool
    url: str = ""
    agency_code: str = ""
    credential: str = ""


class FirstStartDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, problem: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Guichet — premier démarrage")
        self.setObjectName("firstStartDialog")
        self.setMinimumWidth(520)
        intro = QLabel("Ce poste n'a pas encore de base. Que voulez-vous faire ?")
        intro.setWordWrap(True)
        self.demo = QRadioButton("&Essayer Guichet avec une agence de démonstration")
        self.demo.setObjectName("choiceDemo")
        self.join = QRadioButton("&Rejoindre le serveur central de mon agence")
        self.join.setObjectName("choiceJoin")
        self.demo.setChecked(True)
        self.url = QLineEdit()
        self.url.setObjectName("centralUrl")
        self.url.setPlaceholderText("https://central.exemple.org")
        self.agency = QLineEdit()
        self.agency.setObjectName("agencyCode")
        self.agency.setPlaceholderText("ex. 102")
        self.agency.setMaxLength(3)
        self.credential = QLineEdit()
        self.credential.setObjectName("credential")
        self.credential.setEchoMode(QLineEdit.EchoMode.Password)
        self.credential.setPlaceholderText("donné par le site central")
        self.errors = FieldErrors()
        form = QFormLayout()
        self.errors.add_row(form, "Adresse du &central", "url", self.url)
        self.errors.add_row(form, "Code de l'a&gence", "agency", self.agency)
        self.errors.add_row(form, "&Identifiant de l'agence", "credential", self.credential)
        self.problem = QLabel(problem)
        self.problem.setObjectName("firstStartProblem")
        self.problem.setWordWrap(True)
        self.problem.setProperty("fieldError", True)
        self.problem.setVisible(bool(problem))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Continuer")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Quitter")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (intro, self.demo, self.join):
            layout.addWidget(widget)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.join.toggled.connect(self._joining)
        self._joining(False)

    def _joining(self, joining: bool) -> None:
        for field in (self.url, self.agency, self.credential):
            field.setEnabled(joining)
        if joining:
            self.url.setFocus()

    def choice(self) -> FirstStartChoice:
        if self.demo.isChecked():
            return FirstStartChoice(demo=True)
        return FirstStartChoice(False, self.url.text().strip(), self.agency.text().strip(),
                                self.credential.text().strip())

    def _accept(self) -> None:
        chosen = self.choice()
        if not chosen.demo:
            problems: dict[str, str] = {}
            if not chosen.url.startswith(("http://", "https://")):
                problems["url"] = "Adresse attendue : https://serveur (ou http:// en essai)."
            if not (len(chosen.agency_code) == 3 and chosen.agency_code.isdigit()):
                problems["agency"] = "Le code agence fait 3 chiffres."
            if not chosen.credential:
                problems["credential"] = "L'identifiant de l'agence est obligatoire."
            self.errors.clear()
            if problems:
                self.errors.show(problems)
                return
        self.accept()


def ask_first_start(parent: QWidget | None = None, problem: str = "") -> FirstStartChoice | None:
    """The agent's choice; None to quit. Tests patch this function."""
    dialog = FirstStartDialog(parent, problem)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.choice()
