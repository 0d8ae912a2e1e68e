"""Search results that load as the table scrolls: one page at a time, never all the rows, each
search run off the GUI thread; an answer to an older query is dropped."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.services.context import ServiceContext
from app.services.search import MAX_RESULTS, PAGE, SearchHit, SearchPage, search_customers
from app.views.tasks import TaskRunner

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Client", "Comptes", "Téléphone", "Adresse", "Trouvé par")


class SearchResultsModel(QAbstractTableModel):
    """Signals: ``searched(SearchPage)`` when the first page of a query arrived;
    ``failed(BaseException)``."""

    searched = Signal(object)
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

    # --- loading -------------------------------------------------------------------------
    def search(self, query: str) -> None:
        self._generation += 1
        generation = self._generation
        self.query = query
        self._loading = True
        ctx = self.ctx
        self.runner.submit(
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

    def _failure(self, generation: int, error: BaseException) -> None:
        if generation == self._generation:
            self._loading = False
            self.failed.emit(error)

    def _available(self) -> int:
        return MAX_RESULTS if self.total is None else self.total

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and not self._loading and len(self.hits) < self._available()

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008, N802
        if not self.canFetchMore(parent):
            return
        self._loading = True
        generation, offset, query, ctx = self._generation, len(self.hits), self.query, self.ctx
        self.runner.submit(
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
            return
        self.beginInsertRows(QModelIndex(), offset, offset + len(new) - 1)
        self.hits.extend(new)
        self.endInsertRows()

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
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return (
                hit.name,
                hit.accounts,
                hit.phone,
                hit.address,
                f"{hit.matched_field} : {hit.matched_value}"
                if hit.matched_value
                else hit.matched_field,
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
