"""The quote's lines as they are typed: a catalogue code (or a few letters of a label) fills the
line, Enter goes on to the next cell that needs typing and, at the end of a line, to the next
line; amounts and totals follow every keystroke."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from app.services.works.catalogue import CatalogueItem, find_items
from app.services.works.totals import (
    LineInput,
    PricedQuote,
    parse_percent,
    parse_quantity,
    percent_text,
    price_line,
    price_quote,
)
from kernel.errors import ValidationError
from kernel.money import Currency

Index = QModelIndex | QPersistentModelIndex
CODE, LABEL, QUANTITY, UNIT, PRICE, DISCOUNT, VAT, AMOUNT = range(8)
TITLES = ("Code", "Désignation", "Qté", "Unité", "P.U. HT", "Remise", "TVA", "Montant HT")
DEFAULT_VAT = Decimal("0.18")


@dataclass(frozen=True)
class EditLine:
    code: str = ""
    label: str = ""
    quantity: Decimal | None = None
    unit: str = "u"
    unit_price_minor: int | None = None
    discount_rate: Decimal = Decimal(0)
    vat_rate: Decimal = DEFAULT_VAT
    catalogue_item_id: uuid.UUID | None = None

    @property
    def empty(self) -> bool:
        return not (self.code or self.label or self.quantity or self.unit_price_minor)

    def as_input(self) -> LineInput | None:
        if not self.label or self.quantity is None or self.unit_price_minor is None:
            return None
        return LineInput(self.label, self.quantity, self.unit_price_minor, self.vat_rate,
                         self.unit or "u", self.discount_rate, self.catalogue_item_id, self.code)


class QuoteLinesModel(QAbstractTableModel):
    """Editable lines with always one empty line at the end to type the next one."""

    #: A problem with what was just typed ("" when none).
    problem = Signal(str)

    def __init__(self, currency: Currency, catalogue: list[CatalogueItem]) -> None:
        super().__init__()
        self.currency = currency
        self.catalogue = catalogue
        self.lines: list[EditLine] = [EditLine()]
        self.read_only = False

    # -- content ---------------------------------------------------------------------------
    def set_lines(self, lines: list[LineInput]) -> None:
        self.beginResetModel()
        self.lines = [EditLine(line.code, line.label, line.quantity, line.unit,
                               line.unit_price_minor, line.discount_rate, line.vat_rate,
                               line.catalogue_item_id) for line in lines]
        if not self.read_only:
            self.lines.append(EditLine())
        self.endResetModel()

    def inputs(self) -> list[LineInput]:
        found = [line.as_input() for line in self.lines]
        return [line for line in found if line is not None]

    def incomplete(self) -> list[int]:
        """Positions (1-based) of lines begun and not finished."""
        return [n for n, line in enumerate(self.lines, start=1)
                if not line.empty and line.as_input() is None]

    def priced(self, discount_rate: Decimal) -> PricedQuote:
        return price_quote(self.inputs(), discount_rate, self.currency)

    def preview(self, row: int, column: int, text: str, discount_rate: Decimal) -> PricedQuote:
        """The totals if ``text`` were committed in this cell (while it is being typed)."""
        if not 0 <= row < len(self.lines):
            return self.priced(discount_rate)
        try:
            candidate = self._changed(self.lines[row], column, text)
        except ValidationError:
            return self.priced(discount_rate)
        lines = [candidate if n == row else line for n, line in enumerate(self.lines)]
        found = [line.as_input() for line in lines]
        return price_quote([line for line in found if line is not None], discount_rate,
                           self.currency)

    def is_catalogue(self, row: int) -> bool:
        return 0 <= row < len(self.lines) and self.lines[row].catalogue_item_id is not None

    def remove(self, row: int) -> None:
        if not 0 <= row < len(self.lines) - 1:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self.lines[row]
        self.endRemoveRows()

    # -- Qt model --------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.lines)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(TITLES)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return TITLES[section]
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Vertical:
            return str(section + 1)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.read_only or index.column() == AMOUNT:
            return base
        return base | Qt.ItemFlag.ItemIsEditable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.lines):
            return None
        line = self.lines[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._text(line, column)
        if role == Qt.ItemDataRole.EditRole:
            return self._edit_text(line, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= QUANTITY and column != UNIT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, line: EditLine, column: int) -> str:
        if column == AMOUNT:
            found = line.as_input()
            return self.currency.format_minor(
                price_line(found, self.currency).amount_excl_vat_minor) if found else ""
        if column == PRICE:
            return "" if line.unit_price_minor is None \
                else self.currency.format_minor(line.unit_price_minor)
        if line.empty and column in (UNIT, DISCOUNT, VAT):
            return ""
        return self._edit_text(line, column)

    def _edit_text(self, line: EditLine, column: int) -> str:
        if column == CODE:
            return line.code
        if column == LABEL:
            return line.label
        if column == QUANTITY:
            return "" if line.quantity is None else _decimal(line.quantity)
        if column == UNIT:
            return line.unit
        if column == PRICE:
            return "" if line.unit_price_minor is None \
                else _decimal(self.currency.from_minor(line.unit_price_minor))
        if column == DISCOUNT:
            return percent_text(line.discount_rate) if line.discount_rate else ""
        if column == VAT:
            return percent_text(line.vat_rate)
        return ""

    def setData(self, index: Index, value: Any,  # noqa: N802
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or self.read_only:
            return False
        row = index.row()
        try:
            changed = self._changed(self.lines[row], index.column(), str(value))
        except ValidationError as error:
            self.problem.emit(f"Ligne {row + 1} : {error.message}")
            return False
        self.problem.emit("")
        self.lines[row] = changed
        self.dataChanged.emit(self.index(row, 0), self.index(row, AMOUNT))
        if row == len(self.lines) - 1 and not changed.empty:
            self.beginInsertRows(QModelIndex(), row + 1, row + 1)
            self.lines.append(EditLine())
            self.endInsertRows()
        return True

    def _changed(self, line: EditLine, column: int, text: str) -> EditLine:
        text = text.strip()
        if column == CODE:
            if not text:
                return replace(line, code="", catalogue_item_id=None)
            found = find_items(self.catalogue, text, limit=1)
            if not found:
                raise ValidationError({"code": f"aucun article du catalogue pour « {text} » "
                                               "(ligne libre : laissez le code vide)"})
            item = found[0]
            return replace(line, code=item.code, label=item.label, unit=item.unit,
                           unit_price_minor=item.unit_price_minor, vat_rate=item.vat_rate,
                           catalogue_item_id=item.item_id,
                           quantity=line.quantity if line.quantity is not None else Decimal(1))
        if column == LABEL:
            return replace(line, label=text[:200])
        if column == QUANTITY:
            return replace(line, quantity=parse_quantity(text) if text else None)
        if column == UNIT:
            return replace(line, unit=text[:10] or "u")
        if column == PRICE:
            if not text:
                return replace(line, unit_price_minor=None)
            amount = self.currency.parse(text)
            if amount < 0:
                raise ValidationError({"price": "Le prix unitaire ne peut être négatif"})
            return replace(line, unit_price_minor=self.currency.exact_minor(amount))
        if column == DISCOUNT:
            return replace(line, discount_rate=parse_percent(text, "discount"))
        if column == VAT:
            rate = parse_percent(text, "vat")
            if rate >= 1:
                raise ValidationError({"vat": "Taux de TVA invalide"})
            return replace(line, vat_rate=rate)
        return line


def _decimal(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f").replace(".", ",")


class LineDelegate(QStyledItemDelegate):
    """Plain line editors that tell the view when Enter was pressed and what is being typed."""

    typing = Signal(int, int, str)

    def __init__(self, view: LinesView) -> None:
        super().__init__(view)
        self.view = view

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,  # noqa: N802
                     index: Index) -> QWidget:
        editor = QLineEdit(parent)
        editor.setObjectName(f"lineEditor{index.column()}")
        row, column = index.row(), index.column()
        editor.returnPressed.connect(self.view.enter_pressed)
        editor.textEdited.connect(lambda text: self.typing.emit(row, column, text))
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:  # noqa: N802
        super().setEditorData(editor, index)
        if isinstance(editor, QLineEdit):
            editor.selectAll()


class LinesView(QTableView):
    """Enter goes on: code → quantity (a catalogue line) or designation (a free line) → … →
    the next line's code. Delete removes the current line."""

    def __init__(self, model: QuoteLinesModel) -> None:
        super().__init__()
        self.setObjectName("quoteLines")
        self.setModel(model)
        self.lines = model
        self.delegate = LineDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.AnyKeyPressed
                             | QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setTabKeyNavigation(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(LABEL, QHeaderView.ResizeMode.Stretch)
        for column, width in ((CODE, 110), (QUANTITY, 70), (UNIT, 55), (PRICE, 110),
                              (DISCOUNT, 70), (VAT, 60), (AMOUNT, 120)):
            self.setColumnWidth(column, width)
        self.verticalHeader().setDefaultSectionSize(24)
        self._advance = False

    def enter_pressed(self) -> None:
        self._advance = True

    def closeEditor(self, editor: QWidget,  # noqa: N802
                    hint: QAbstractItemDelegate.EndEditHint) -> None:
        super().closeEditor(editor, hint)
        if self._advance:
            self._advance = False
            QTimer.singleShot(0, self.advance)

    def next_cell(self, row: int, column: int) -> tuple[int, int]:
        catalogue = self.lines.is_catalogue(row)
        if column == CODE:
            return (row, QUANTITY) if catalogue else (row, LABEL)
        if column == QUANTITY and catalogue:
            return row + 1, CODE
        if column >= VAT:
            return row + 1, CODE
        return row, column + 1

    def advance(self) -> None:
        current = self.currentIndex()
        if not current.isValid():
            return
        row, column = self.next_cell(current.row(), current.column())
        row = min(row, self.lines.rowCount() - 1)
        target = self.lines.index(row, column)
        self.setCurrentIndex(target)
        self.edit(target)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid() \
                and self.state() != QAbstractItemView.State.EditingState:
            if self.lines.flags(self.currentIndex()) & Qt.ItemFlag.ItemIsEditable:
                self.edit(self.currentIndex())
            else:
                self.advance()
            return
        if key == Qt.Key.Key_Delete and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.lines.remove(self.currentIndex().row())
            return
        super().keyPressEvent(event)

    def start(self) -> None:
        """The cursor in the code of the first line to type."""
        row = self.lines.rowCount() - 1
        target = self.lines.index(row, CODE)
        self.setFocus()
        self.setCurrentIndex(target)
