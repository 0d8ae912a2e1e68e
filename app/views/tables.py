"""Read-only tables of the screens, their columns fitted to their content."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from app.views.table_model import ListTableModel


def table(
    model: ListTableModel[Any], name: str, stretch: int = -1, cap: int = 0
) -> QTableView:
    """A read-only table whose columns fit their content; the ``stretch`` column (the last by
    default) takes the spare width."""
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(stretch < 0)
    if stretch >= 0:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    model.modelReset.connect(lambda: fit_columns(view, stretch, cap or COLUMN_CAP))
    fit_columns(view, stretch, cap or COLUMN_CAP)
    return view


#: No column sized by its content grows wider than this (the full text is in the tooltip).
COLUMN_CAP = 260


def fit_columns(view: QTableView, stretch: int = -1, cap: int = 260) -> None:
    """Each column as wide as its content, capped, so that a long reason or label does not push
    the others out of sight; the stretched column takes what is left."""
    header = view.horizontalHeader()
    spare = stretch if stretch >= 0 else header.count() - 1
    for column in range(header.count()):
        if column == spare:
            continue
        view.resizeColumnToContents(column)
        if header.sectionSize(column) > cap:
            header.resizeSection(column, cap)
