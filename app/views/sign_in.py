"""The sign-in dialog: user name, password, Enter to sign in, Esc to quit."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.views.errors import show_error
from app.views.tasks import TaskRunner
from kernel.context import SignedInUser
from kernel.errors import SignInError

SignInFn = Callable[[str, str], SignedInUser]


class SignInDialog(QDialog):
    """Signals: ``signed_in(SignedInUser)`` once the password is accepted."""

    signed_in = Signal(object)

    def __init__(
        self,
        sign_in: SignInFn,
        runner: TaskRunner,
        agency_label: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._sign_in = sign_in
        self._runner = runner
        self.user: SignedInUser | None = None
        self.setWindowTitle("Guichet — connexion")
        self.setObjectName("signInDialog")
        self.setMinimumWidth(420)

        title = QLabel("Guichet")
        title.setObjectName("appTitle")
        subtitle = QLabel(agency_label)
        subtitle.setObjectName("appSubtitle")

        self.username = QLineEdit()
        self.username.setObjectName("username")
        self.username.setPlaceholderText("ex. agent")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.addRow("&Identifiant", self.username)
        form.addRow("&Mot de passe", self.password)

        self.message = QLabel()
        self.message.setObjectName("formError")
        self.message.setWordWrap(True)
        self.message.hide()

        self.buttons = QDialogButtonBox()
        self.submit = self.buttons.addButton(
            "Se &connecter", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.submit.setDefault(True)
        self.quit_button = self.buttons.addButton(
            "&Quitter", QDialogButtonBox.ButtonRole.RejectRole
        )
        # Enter always means "sign in": Quitter never becomes the default, even with the focus.
        self.quit_button.setAutoDefault(False)
        self.checking = False
        self.buttons.accepted.connect(self._attempt)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setTabOrder(self.username, self.password)
        self.setTabOrder(self.password, self.submit)
        self.username.setFocus(Qt.FocusReason.OtherFocusReason)

    def _attempt(self) -> None:
        if self.checking:
            return
        username, password = self.username.text(), self.password.text()
        self._busy(True)
        self._runner.write(
            lambda: self._sign_in(username, password),
            on_success=self._accepted,
            on_failure=self._refused,
        )

    def _busy(self, busy: bool) -> None:
        # Read-only, not disabled, during the check: a disabled field would hand the focus
        # (and with it Enter) to the next button, Quitter.
        self.checking = busy
        self.username.setReadOnly(busy)
        self.password.setReadOnly(busy)
        self.submit.setDefault(True)
        if busy:
            self.message.setText("Vérification…")
            self.message.setProperty("kind", "info")
            self.message.show()

    def _accepted(self, user: SignedInUser) -> None:
        self.user = user
        self.password.clear()
        self.signed_in.emit(user)
        self.accept()

    def _refused(self, error: BaseException) -> None:
        self._busy(False)
        if not isinstance(error, SignInError):
            self.message.hide()
            show_error(self, error)
            return
        self.message.setText(error.message)
        self.message.setProperty("kind", "error")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.show()
        self.password.clear()
        self.password.setFocus()
