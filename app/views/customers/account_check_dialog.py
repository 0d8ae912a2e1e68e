"""The account-number check: type a number, read the holder (nothing is written)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from app.services.account_check import check_account
from app.views.forms import FormDialog
from app.views.shell import Shell


class AccountCheckDialog(FormDialog):
    """Type an account number, read the holder's civility and name (nothing is written)."""

    def __init__(self, shell: Shell, parent: QWidget | None = None) -> None:
        super().__init__("Vérifier un numéro de compte", shell.runner, parent, ok_text="&Vérifier")
        self.shell = shell
        self.number = QLineEdit()
        self.number.setObjectName("accountNumber")
        self.number.setPlaceholderText("101 26 0000042 17")
        self.answer = QLabel()
        self.answer.setObjectName("accountAnswer")
        self.errors.add_row(self.form, "N° de &compte", "account_number", self.number)
        self.form.addRow("Titulaire", self.answer)
        self.buttons.buttons()[1].setText("&Fermer")
        self.setMinimumWidth(460)

    def work(self) -> Callable[[], Any]:
        ctx, typed = self.shell.ctx, self.number.text()
        return lambda: check_account(ctx, typed)

    def attempt(self) -> None:
        self.answer.clear()
        super().attempt()

    def succeeded(self, result: Any) -> None:
        self.answer.setText(
            f"{result.civility} {result.name} — {result.account_number} ({result.status.lower()})"
        )
        self.number.selectAll()

    def refused(self, error: BaseException) -> None:
        from kernel.errors import NotFoundError

        if isinstance(error, NotFoundError):
            self.ready()
            self.answer.setText(error.message)
            return
        super().refused(error)
