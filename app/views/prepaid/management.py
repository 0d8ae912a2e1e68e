"""*Jeton de gestion* (supervisors): clear credit, clear tamper, power limit or a key change set
for one of the agency's meters, with a reason; the codes shown large and the receipt kept and
printed like a sale's. The role is checked by the service (and central), the dialog only says
so early."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services.prepaid_desk import CentralUnreachable, VendRefused, grouped
from app.services.prepaid_sales import (
    MANAGEMENT_KINDS,
    MANAGING_ROLES,
    ManagementToken,
    issue_management_token,
)
from app.views.documents import deliver_document
from app.views.prepaid import central_of, named, vending_desk
from app.views.shell import Shell
from kernel.errors import BusinessError


class ManagementDialog(QDialog):
    """Meter, kind, power (limit only), reason; Entrée asks central; Échap closes."""

    def __init__(self, shell: Shell, parent: QWidget, meter: str = "") -> None:
        super().__init__(parent)
        self.shell = shell
        self.setWindowTitle("Jeton de gestion (superviseur)")
        self.setObjectName("managementDialog")
        self.setMinimumWidth(560)
        self.meter = named(QLineEdit(meter), "managementMeter")
        self.meter.setPlaceholderText("N° de série ou DRN")
        self.kind = named(QComboBox(), "managementKind")
        for code, name in MANAGEMENT_KINDS.items():
            self.kind.addItem(name, code)
        self.watts = named(QSpinBox(), "managementWatts")
        self.watts.setRange(100, 100_000)
        self.watts.setSingleStep(100)
        self.watts.setValue(3000)
        self.watts.setSuffix(" W")
        self.reason = named(QLineEdit(), "managementReason")
        self.reason.setPlaceholderText("ex. alarme de fraude levée après contrôle du technicien")
        self.go = named(QPushButton("&Produire le jeton (Entrée)"), "managementGo")
        self.go.setDefault(True)
        self.go.clicked.connect(self.issue)
        self.message = named(QLabel(), "managementMessage")
        self.message.setWordWrap(True)
        self.tokens = named(QLabel(), "managementTokens")
        self.tokens.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tokens.setStyleSheet("font-size: 20pt; font-weight: bold; "
                                  "font-family: 'DejaVu Sans Mono', monospace;")
        form = QFormLayout()
        form.addRow("&Compteur :", self.meter)
        form.addRow("&Type :", self.kind)
        form.addRow("P&uissance maximale :", self.watts)
        form.addRow("&Motif :", self.reason)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.go)
        layout.addWidget(self.message)
        layout.addWidget(self.tokens)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()
        self.issued: ManagementToken | None = None
        user = shell.ctx.user
        if user is None or user.role not in MANAGING_ROLES:
            self._say("Les jetons de gestion sont réservés aux superviseurs et "
                      "administrateurs : demandez à votre superviseur.", problem=True)
            self.go.setEnabled(False)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        (self.reason if self.meter.text().strip() else self.meter).setFocus()

    def _kind_changed(self) -> None:
        self.watts.setEnabled(self.kind.currentData() == "power_limit")

    def _say(self, text: str, problem: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020; font-weight: bold;" if problem else "")

    def issue(self) -> None:
        shell, ctx = self.shell, self.shell.ctx
        meter, kind, reason = self.meter.text(), str(self.kind.currentData()), self.reason.text()
        watts = self.watts.value()
        paper = shell.settings.prepaid_receipt_paper
        connection = central_of(shell, self)

        def ask() -> ManagementToken:
            with vending_desk(shell, connection) as desk:
                return issue_management_token(ctx, desk, meter, kind, reason, paper, watts)

        self.go.setEnabled(False)
        self._say("Demande au serveur central…")
        shell.runner.write(ask, on_success=self._issued, on_failure=self._failed, parent=self)

    def _failed(self, error: BaseException) -> None:
        self.go.setEnabled(True)
        if isinstance(error, BusinessError | VendRefused | CentralUnreachable):
            self._say(str(error), problem=True)
            return
        raise error

    def _issued(self, issued: ManagementToken) -> None:
        self.issued = issued
        self.go.setEnabled(True)
        codes = issued.sale.tokens_in_order
        self.tokens.setText("\n".join(
            f"{n}. {grouped(t)}" if len(codes) > 1 else grouped(t) for n, t in enumerate(codes, 1)))
        order = (" Tapez-les dans l'ordre." if len(codes) > 1 else "")
        self._say(f"Reçu {issued.sale.receipt} — {self.kind.currentText()}.{order}")
        deliver_document(self, self.shell.settings.data_dir, issued.document.filename,
                         issued.document.pdf, title="Jeton de gestion",
                         what="Reçu du jeton de gestion enregistré.")
