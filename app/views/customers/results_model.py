"""Search results that load as the table scrolls: one page at a time, never all the rows, each
search run off the GUI thread; an answer to an older query is dropped. The rows shown reload in
place when a write touches their customer or one of its accounts (a payment moves the balance)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.models.changes import Changes
from app.services.search import MAX_RESULTS, PAGE, SearchHit, SearchPage, search_customers
from app.views.tasks import TaskRunner
from kernel.context import ServiceContext

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Client", "Comptes", "Téléphone", "Adresse", "Trouvé par", "Solde à jour")
BALANCE_COLUMN = 5


class SearchResultsModel(QAbstractTableModel):
    """Signals: ``searched(SearchPage)`` when the first page of a query arrived;
    ``refreshed()`` when the rows shown were reloaded after a change; ``failed(BaseException)``."""

    searched = Signal(object)
    refreshed = Signal()
    failed = Signal(object)

    def __init__(self, ctx: ServiceContext, runner: TaskRunner) -> None:
        super().__init__()
        self.ctx = ctx
        self.runner = runner
        self.hits: list[SearchHit] = []
        self.total: int | None = 0
        self.query = ""
        self._generation = 0
        self._loading = False
        self._again = False

    # --- loading -------------------------------------------------------------------------
    def search(self, query: str) -> None:
        self._again = False
        self._generation += 1
        generation = self._generation
        self.query = query
        self._loading = True
        ctx = self.ctx
        self.runner.read(
            lambda: search_customers(ctx, query, 0, PAGE),
            on_success=lambda page: self._first_page(generation, page),
            on_failure=lambda error: self._failure(generation, error),
        )

    def _first_page(self, generation: int, page: SearchPage) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self.beginResetModel()
        self.hits = list(page.hits)
        self.total = page.total
        self.endResetModel()
        self.searched.emit(page)
        self._after_load()

    def _after_load(self) -> None:
        if self._again:
            self._again = False
            self.refresh()

    def _failure(self, generation: int, error: BaseException) -> None:
        if generation == self._generation:
            self._loading = False
            self.failed.emit(error)

    def concerned(self, changes: Changes) -> bool:
        """Whether a write touched a customer shown or one of their accounts."""
        if not self.hits:
            return False
        return changes.touches("customer", [h.customer_id for h in self.hits]) or changes.touches(
            "account", [a for h in self.hits for a in h.account_ids]
        )

    def refresh(self) -> None:
        """Reloads the rows already shown, for the same query; a row keeps its place (and the
        view its selection) when the same customers come back in the same order."""
        if not self.query:
            return
        if self._loading:  # the answer on its way may predate the change: ask again after it
            self._again = True
            return
        self._loading = True
        generation, query, ctx = self._generation, self.query, self.ctx
        count = min(max(len(self.hits), PAGE), MAX_RESULTS)
        self.runner.read(
            lambda: search_customers(ctx, query, 0, count),
            on_success=lambda page: self._reloaded(generation, page),
            on_failure=lambda error: self._failure(generation, error),
        )

    def _reloaded(self, generation: int, page: SearchPage) -> None:
        if generation != self._generation:
            return
        self._loading = False
        same = [h.customer_id for h in page.hits] == [h.customer_id for h in self.hits]
        self.total = page.total
        if same and self.hits:
            self.hits = list(page.hits)
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self.hits) - 1, len(COLUMNS) - 1)
            )
        else:
            self.beginResetModel()
            self.hits = list(page.hits)
            self.endResetModel()
        self.refreshed.emit()
        self._after_load()

    def _available(self) -> int:
        return MAX_RESULTS if self.total is None else self.total

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and not self._loading and len(self.hits) < self._available()

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008, N802
        if not self.canFetchMore(parent):
            return
        self._loading = True
        generation, offset, query, ctx = self._generation, len(self.hits), self.query, self.ctx
        self.runner.read(
            lambda: search_customers(ctx, query, offset, PAGE),
            on_success=lambda page: self._next_page(generation, offset, page),
            on_failure=lambda error: self._failure(generation, error),
        )

    def _next_page(self, generation: int, offset: int, page: SearchPage) -> None:
        if generation != self._generation or offset != len(self.hits):
            return
        self._loading = False
        new = page.hits[: self._available() - offset]
        if not new:
            self.total = len(self.hits)
        else:
            self.beginInsertRows(QModelIndex(), offset, offset + len(new) - 1)
            self.hits.extend(new)
            self.endInsertRows()
        self._after_load()

    # --- Qt model --------------------------------------------------------------------------
    def hit(self, row: int) -> SearchHit:
        return self.hits[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.hits)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.hits):
            return None
        hit = self.hits[index.row()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == BALANCE_COLUMN:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            balance = (
                ""
                if hit.balance_minor is None
                else self.ctx.installation.currency.format_minor(hit.balance_minor)
            )
            return (
                hit.name,
                hit.accounts,
                hit.phone,
                hit.address,
                f"{hit.matched_field} : {hit.matched_value}"
                if hit.matched_value
                else hit.matched_field,
                balance,
            )[index.column()]
        return None

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,  # noqa: N802
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None
