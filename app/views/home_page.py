"""Accueil: the agency at a glance (and the cards the modules declare) and the keyboard
shortcuts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.models.changes import Changes
from app.services.overview import AgencyOverview, agency_overview
from app.views.shell import Shell

#: What the cards count: a write touching one of these reloads them.
COUNTED = ("customer", "account", "contract", "meter", "payment", "invoice")


def _card(title: str) -> tuple[QFrame, QLabel]:
    frame = QFrame()
    frame.setObjectName("card")
    layout = QVBoxLayout(frame)
    caption = QLabel(title)
    caption.setObjectName("cardTitle")
    value = QLabel("…")
    value.setObjectName("cardValue")
    for label in (caption, value):
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        label.setWordWrap(True)  # a module's sentence on a narrow card: two lines, never cut
    layout.addWidget(caption)
    layout.addWidget(value)
    return frame, value


class HomePage(QWidget):
    """Implements ``Page``."""

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        self.stale = False
        installation = shell.ctx.installation
        user = shell.ctx.user
        greeting = QLabel(f"Bonjour {user.full_name}" if user else "Bonjour")
        greeting.setObjectName("pageTitle")
        agency = QLabel(f"Agence {installation.agency_code} — {installation.agency_name}")
        agency.setObjectName("pageSubtitle")

        grid = QGridLayout()
        grid.setSpacing(12)
        self.values: dict[str, QLabel] = {}
        self.tiles = shell.modules().tiles_for(user.role if user else None)
        self.tile_values: list[QLabel] = []
        for position, (key, title) in enumerate(
            (
                ("customers", "Clients"),
                ("active_accounts", "Comptes actifs"),
                ("outstanding", "Restant dû (dernière synchro)"),
                ("postpaid_meters", "Compteurs postpayés posés"),
                ("prepaid_meters", "Compteurs prépayés posés"),
                ("cashed_today", "Encaissé aujourd'hui"),
            )
        ):
            frame, value = _card(title)
            self.values[key] = value
            grid.addWidget(frame, position // 3, position % 3)
        for position, tile in enumerate(self.tiles, start=len(self.values)):
            frame, value = _card(tile.title)
            self.tile_values.append(value)
            grid.addWidget(frame, position // 3, position % 3)

        self.refresh_button = QPushButton("&Actualiser")
        self.refresh_button.clicked.connect(self.refresh)

        shortcuts = QLabel(
            "<b>Raccourcis</b> : Ctrl+K rechercher un client · Ctrl+1… Ctrl+9 changer de module · "
            "F5 actualiser · Ctrl+Maj+D se déconnecter · Ctrl+Q quitter"
        )
        shortcuts.setObjectName("hint")
        shortcuts.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.addWidget(greeting)
        layout.addWidget(agency)
        layout.addSpacing(12)
        layout.addLayout(grid)
        layout.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addStretch(1)
        layout.addWidget(shortcuts)
        shell.runner.changed.connect(self._changed)
        self.refresh()

    def _changed(self, changes: Changes) -> None:
        """Counting the whole agency is not free: a hidden page only notes it is stale."""
        if not changes.touches_any(COUNTED):
            return
        if self.isVisible():
            self.refresh()
        else:
            self.stale = True

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self.stale:
            self.refresh()

    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        pass

    def closing(self) -> None:
        pass

    def refresh(self) -> None:
        self.stale = False
        self.refresh_button.setEnabled(False)
        ctx = self.shell.ctx
        tiles = self.tiles
        self.shell.runner.read(
            lambda: (agency_overview(ctx), [tile.read(ctx) for tile in tiles]),
            on_success=self._show,
            on_failure=self._failed,
            parent=self,
        )

    def _failed(self, error: BaseException) -> None:
        from app.views.errors import show_error

        self.refresh_button.setEnabled(True)
        show_error(self, error)

    def _show(self, loaded: tuple[AgencyOverview, list[str]]) -> None:
        overview, tile_texts = loaded
        for label, text in zip(self.tile_values, tile_texts, strict=True):
            label.setText(text)
        currency = self.shell.ctx.installation.currency

        def count(n: int) -> str:
            return f"{n:,}".replace(",", "\u202f")

        self.values["customers"].setText(count(overview.customers))
        self.values["active_accounts"].setText(count(overview.active_accounts))
        self.values["outstanding"].setText(currency.format_minor(overview.outstanding_minor))
        self.values["postpaid_meters"].setText(count(overview.postpaid_meters))
        self.values["prepaid_meters"].setText(count(overview.prepaid_meters))
        self.values["cashed_today"].setText(
            f"{currency.format_minor(overview.cashed_today_minor)} ({overview.payments_today})"
        )
        self.refresh_button.setEnabled(True)
