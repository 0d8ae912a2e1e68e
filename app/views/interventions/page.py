"""Interventions: the requests with their filters (status, kind, commune, technician, overdue,
number), the counts per status, overdue requests in red; the selected request in full with its
history, and what can be done with it (edit, plan, start, close with the report, cancel or
reopen with a reason, print its work order). CSV export of the filtered list."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTime, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableView,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.models.changes import Changes
from app.models.enums import InterventionStatus, Role
from app.services.customer_edit import communes
from app.services.interventions import lists, planning, workflow
from app.services.interventions.lists import PAGE, RequestDetail, RequestFilter, RequestRow
from app.services.interventions.report import attachment_content
from app.services.interventions.requests import KINDS, OPEN_STATUSES
from app.services.interventions.work_order import work_order_pdf
from app.views import messages
from app.views.errors import show_error
from app.views.format import plural
from app.views.forms import FormDialog, combo, date_edit, read_date
from app.views.interventions.common import (
    OVERDUE,
    OVERDUE_BACKGROUND,
    PAGE_KEYS,
    PRIORITY_MARKS,
    bind,
    local,
    minutes_text,
    scrolled_layout,
    short,
)
from app.views.interventions.documents import save_and_open
from app.views.interventions.editor import RequestEditor
from app.views.interventions.report_dialog import ReportDialog
from app.views.shell import Shell
from app.views.table_model import Column, ListTableModel
from kernel.vocabulary import label

Index = QModelIndex | QPersistentModelIndex
FORCING = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


def request_columns(zone: Any) -> list[Column[RequestRow]]:
    return [
        Column("N°", lambda r: r.number),
        Column("Type (‼ urgente, ! haute)", lambda r: PRIORITY_MARKS[r.priority] + label(r.type)),
        Column("Statut", lambda r: label(r.status)),
        Column("Demandée le", lambda r: short(r.requested_at, zone)),
        Column("Échéance", lambda r: short(r.due_at, zone) + (" · retard" if r.overdue else "")),
        Column("Technicien", lambda r: r.technician),
        Column("Prévue le", lambda r: short(r.scheduled_for, zone)),
        Column("Commune", lambda r: r.commune),
        Column("Client / lieu", lambda r: r.place),
    ]


class RequestsModel(ListTableModel[RequestRow]):
    """Requests, overdue ones in red."""

    DUE_COLUMN = 4

    def __init__(self, zone: Any) -> None:
        super().__init__(request_columns(zone))
        self.bold = QFont()
        self.bold.setBold(True)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and 0 <= index.row() < len(self.rows) and self.rows[index.row()].overdue:
            if role == Qt.ItemDataRole.ForegroundRole:
                return OVERDUE
            if role == Qt.ItemDataRole.BackgroundRole:
                return OVERDUE_BACKGROUND
            if role == Qt.ItemDataRole.FontRole and index.column() == self.DUE_COLUMN:
                return self.bold
        return super().data(index, role)


class ScheduleDialog(FormDialog):
    """Plans a request from the keyboard: technician, day, hour (a supervisor may force a
    clash)."""

    def __init__(self, shell: Shell, detail: RequestDetail, parent: QWidget | None = None) -> None:
        super().__init__(f"Planifier {detail.number}", shell.runner, parent, ok_text="&Planifier")
        self.setObjectName("scheduleDialog")
        self.shell, self.detail = shell, detail
        people = planning.technicians(shell.ctx)
        self.technician = combo([(f"{t.name} ({t.skills_text})", t.technician_id)
                                 for t in people], detail.technician_id)
        zone = shell.ctx.installation.zone
        when = (detail.scheduled_for.astimezone(zone) if detail.scheduled_for else None)
        self.day = date_edit(when.date() if when else shell.ctx.installation.today()
                             + timedelta(days=1))
        self.hour = QTimeEdit(QTime(when.hour, when.minute) if when else QTime(8, 0))
        self.hour.setDisplayFormat("HH:mm")
        self.force = QCheckBox("Forcer malgré un conflit (superviseur)")
        user = shell.ctx.user
        self.force.setVisible(user is not None and user.role in FORCING)
        add = self.errors.add_row
        add(self.form, "&Technicien", "technician_id", self.technician)
        add(self.form, "&Jour", "day", self.day)
        add(self.form, "&Heure", "hour", self.hour)
        self.form.addRow("", self.force)
        self.first_field = self.technician

    def work(self) -> Callable[[], Any]:
        ctx, request_id, version = self.shell.ctx, self.detail.request_id, self.detail.version
        moment = self.hour.time()
        start = datetime.combine(read_date(self.day), time(moment.hour(), moment.minute()),
                                 ctx.installation.zone)
        technician, force = self.technician.value(), self.force.isChecked()
        return lambda: planning.place_job(ctx, request_id, version, technician, start,
                                          force=force)


class RequestPanel(QWidget):
    """One request in full: what, where, when, who, its report and its history."""

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        self.setObjectName("requestPanel")
        self.summary = QLabel()
        self.summary.setObjectName("requestSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.history = QListWidget()
        self.history.setObjectName("requestHistory")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary, 3)
        self.attachments = QListWidget()
        self.attachments.setObjectName("requestAttachments")
        self.attachments.setMaximumHeight(60)
        self.attachments.setToolTip("Entrée ou double-clic : ouvrir la pièce jointe")
        self.attachments.itemActivated.connect(self._open_attachment)
        self.attachment_ids: list[uuid.UUID] = []
        column = QVBoxLayout()
        caption = QLabel("Historique")
        caption.setObjectName("sectionTitle")
        column.addWidget(caption)
        column.addWidget(self.history, 1)
        self.attachments_caption = QLabel("Pièces jointes")
        self.attachments_caption.setObjectName("sectionTitle")
        column.addWidget(self.attachments_caption)
        column.addWidget(self.attachments)
        layout.addLayout(column, 2)

    def _open_attachment(self) -> None:
        row = self.attachments.currentRow()
        if not 0 <= row < len(self.attachment_ids):
            return
        ctx, document_id = self.shell.ctx, self.attachment_ids[row]
        folder = Path(self.shell.settings.data_dir) / "pieces-jointes"

        def save() -> str:
            filename, _media, content = attachment_content(ctx, document_id)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{document_id.hex[:8]}-{filename}"
            path.write_bytes(content)
            return str(path)

        def opened(path: str) -> None:
            if not messages.open_document(path):
                messages.inform(self, "Pièce jointe", f"Aucun programme ne l'ouvre sur ce "
                                                      f"poste ; fichier enregistré : {path}")

        self.shell.runner.read(save, on_success=opened,
                               on_failure=lambda e: show_error(self, e), parent=self)

    def show_detail(self, detail: RequestDetail | None) -> None:
        self.history.clear()
        self.attachments.clear()
        self.attachment_ids = []
        self.attachments_caption.setVisible(bool(detail and detail.attachments))
        self.attachments.setVisible(bool(detail and detail.attachments))
        if detail is None:
            self.summary.setText("<i>Choisissez une demande dans la liste.</i>")
            return
        zone = self.shell.ctx.installation.zone
        due = local(detail.due_at, zone)
        if detail.overdue:
            due = f"<span style='color:#b3261e'><b>{due} — en retard</b></span>"
        rows = [
            ("Demande", f"<b>{detail.number}</b> — {label(detail.type)} · priorité "
                        f"{label(detail.priority).lower()} · {label(detail.channel).lower()}"),
            ("Statut", label(detail.status) + (f" (forcé par {detail.forced_by})"
                                               if detail.forced_by else "")),
            ("Client", " — ".join(p for p in (detail.customer, detail.account_number) if p)
             or "—"),
            ("Lieu", detail.address or "—"),
            ("Compteur", detail.meter_serial or "—"),
            ("Contact", " — ".join(p for p in (detail.contact_name or detail.reporter_name,
                                               detail.contact_phone) if p) or "—"),
            ("Échéance", due or "—"),
            ("Technicien", " — ".join(p for p in (detail.technician,
                                                  local(detail.scheduled_for, zone)) if p)
             or "à planifier"),
            ("Demandé", detail.description.replace("\n", "<br>")),
        ]
        if detail.quote_number:
            rows.append(("Devis", detail.quote_number))
        if detail.status is InterventionStatus.DONE:
            rows.append(("Constatations", detail.findings.replace("\n", "<br>")))
            extra = [f"temps passé {minutes_text(detail.time_spent_minutes)}"]
            if detail.reading_index is not None:
                extra.append(f"index relevé {detail.reading_index}")
            extra += [f"{p.label} × {p.quantity.normalize():f}" for p in detail.parts]
            extra += [f"pièce jointe {a.filename}" for a in detail.attachments]
            rows.append(("Rapport", " · ".join(extra)))
        self.summary.setText("<table cellspacing=2>" + "".join(
            f"<tr><td style='color:#4a5868;padding-right:8px'>{k}</td><td>{v}</td></tr>"
            for k, v in rows) + "</table>")
        for attachment in detail.attachments:
            self.attachments.addItem(" — ".join(p for p in (attachment.filename,
                                                            attachment.caption) if p))
            self.attachment_ids.append(attachment.document_id)
        for event in reversed(detail.history):
            note = f" — {event.note}" if event.note else ""
            self.history.addItem(f"{local(event.at, zone)} · {event.action} par {event.who}{note}")


class InterventionsPage(QWidget):
    """Signals: ``overdue_changed(str)`` after each load: why the status bar warns (how many
    open requests are past their deadline), empty when none is. ``refresh`` reads the list
    again (F5)."""

    overdue_changed = Signal(str)

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.setObjectName("interventionsPage")
        self.shell = shell
        self.detail: RequestDetail | None = None
        zone = shell.ctx.installation.zone

        title = QLabel("Interventions")
        title.setObjectName("pageTitle")
        self.counts = QLabel()
        self.counts.setObjectName("interventionCounts")
        self.status = combo([("Toutes", None), ("Ouvertes", "open")]
                            + [(label(s), s) for s in InterventionStatus], "open")
        self.kind = combo([("Tous", None)] + [(label(k), k) for k in KINDS])
        self.commune = combo([("Toutes", None)] + [(c.label, c.value)
                                                    for c in communes(shell.ctx)])
        self.technician = combo([("Tous", None)] + [(t.name, t.technician_id)
                                                    for t in planning.technicians(shell.ctx)])
        self.overdue = QCheckBox("En retar&d seulement")
        self.number = QLineEdit()
        self.number.setPlaceholderText("n° ou fin du n°")
        self.number.setClearButtonEnabled(True)
        filters = QGridLayout()
        for place, (caption, widget) in enumerate((
                ("&Statut", self.status), ("T&ype", self.kind), ("Comm&une", self.commune),
                ("Tec&hnicien", self.technician), ("Numér&o", self.number))):
            caption_label = QLabel(caption)
            caption_label.setBuddy(widget)
            filters.addWidget(caption_label, 0, place)
            filters.addWidget(widget, 1, place)
        filters.addWidget(self.overdue, 1, 5)
        for widget in (self.status, self.kind, self.commune, self.technician):
            widget.currentIndexChanged.connect(self.refresh)
        self.overdue.toggled.connect(self.refresh)
        self.number.returnPressed.connect(self.refresh)

        self.model = RequestsModel(zone)
        self.table = QTableView()
        self.table.setObjectName("requestsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setAlternatingRowColors(True)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.activated.connect(lambda _i: self.edit())
        self.more = QLabel()
        self.more.setObjectName("hint")

        self.panel = RequestPanel(shell)
        self.buttons: dict[str, QPushButton] = {}
        actions = QHBoxLayout()
        for key, text, slot in (
            ("new", "&Nouvelle", self.new_request),
            ("edit", "&Modifier", self.edit),
            ("plan", "&Planifier…", self.schedule),
            ("start", "&Commencer", self.start),
            ("close", "C&lôturer (rapport)…", self.close_job),
            ("cancel", "&Annuler…", self.cancel),
            ("reopen", "&Rouvrir…", self.reopen),
            ("print", "&Bon d'intervention", self.print_order),
            ("letter", "Courri&er…", self.letter),
            ("export", "E&xporter (CSV)", self.export),
        ):
            button = QPushButton(text)
            button.setObjectName(f"action_{key}")
            button.clicked.connect(slot)
            if key in PAGE_KEYS:
                button.setToolTip(f"{PAGE_KEYS[key].what} ({PAGE_KEYS[key].keys})")
                bind(self, PAGE_KEYS[key].keys, slot)
            self.buttons[key] = button
            if key != "export":
                actions.addWidget(button)
        actions.addStretch(1)
        # The export takes what the list shows: under the list, beside its count (in the row
        # of actions, the row was wider than the window's first size on a 1366 px screen).
        listed = QHBoxLayout()
        listed.addWidget(self.more, 1)
        listed.addWidget(self.buttons["export"])

        top = QWidget()
        column = QVBoxLayout(top)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(filters)
        column.addWidget(self.table, 1)
        column.addLayout(listed)
        bottom = QWidget()
        column = QVBoxLayout(bottom)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(actions)
        column.addWidget(self.panel, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setSizes([380, 260])
        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(16)
        header.addWidget(self.counts, 1)
        layout = scrolled_layout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)
        self._enable()
        shell.runner.changed.connect(self._changed)
        self.refresh()

    def _changed(self, changes: Changes) -> None:
        if changes.touches_any(("intervention", "technician")):
            self.refresh()
        if self.detail is not None and changes.touches("intervention", [self.detail.request_id]):
            self.load_detail(self.detail.request_id)

    # --- Page -------------------------------------------------------------------------------
    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        self.table.setFocus()

    def closing(self) -> None:
        pass

    # --- loading ----------------------------------------------------------------------------
    def current_filter(self) -> RequestFilter:
        status = self.status.value()
        return RequestFilter(
            status=status if isinstance(status, InterventionStatus) else None,
            open_only=status == "open", type=self.kind.value(),
            commune_id=self.commune.value(), technician_id=self.technician.value(),
            overdue_only=self.overdue.isChecked(), number=self.number.text())

    def refresh(self) -> None:
        ctx, flt = self.shell.ctx, self.current_filter()

        def load() -> tuple[RequestFilter, list[RequestRow], dict[InterventionStatus, int], int]:
            return (flt, lists.list_requests(ctx, flt), lists.counts_by_status(ctx, flt),
                    lists.overdue_count(ctx))

        self.shell.runner.read(load, on_success=self._show,
                               on_failure=lambda e: show_error(self, e), parent=self)

    def _show(self, result: tuple[RequestFilter, list[RequestRow],
                                  dict[InterventionStatus, int], int]) -> None:
        flt, rows, counts, late = result
        if flt != self.current_filter():
            return  # the filters changed since: a newer load follows
        selected = self.detail.request_id if self.detail else None
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        parts = [f"{label(s)} {counts[s]}" for s in InterventionStatus if counts[s]]
        overdue = (f" · <span style='color:#b3261e'><b>{plural(late, 'en retard', 'en retard')}"
                   f"</b></span>" if late else "")
        self.counts.setText(" · ".join(parts) + overdue)
        if late == 1:
            self.overdue_changed.emit("1 demande d'intervention ouverte a dépassé son échéance")
        else:
            self.overdue_changed.emit(f"{late} demandes d'intervention ouvertes ont dépassé "
                                      "leur échéance" if late else "")
        self.more.setText(f"Les {PAGE} plus récentes sont affichées : affinez les filtres."
                          if len(rows) >= PAGE else plural(len(rows), "demande", "demandes"))
        row = next((i for i, r in enumerate(rows) if r.request_id == selected), None)
        if row is not None:
            self.table.selectRow(row)
        elif selected is None and rows:
            self.table.selectRow(0)
        # A request the filters no longer show (just closed) stays in the panel.

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        self.load_detail(self.model.row(current.row()).request_id)

    def show_request(self, request_id: uuid.UUID, number: str) -> None:
        """One request, found by its number whatever its status, shown in the panel."""
        self.number.setText(number)
        if self.status.currentIndex() != 0:
            self.status.setCurrentIndex(0)  # every status (the list reloads)
        else:
            self.refresh()
        self.load_detail(request_id)
        self.table.setFocus()

    def load_detail(self, request_id: uuid.UUID) -> None:
        ctx = self.shell.ctx
        self.shell.runner.read(lambda: lists.request_detail(ctx, request_id),
                                 on_success=self._show_detail,
                                 on_failure=lambda e: show_error(self, e), parent=self)

    def _show_detail(self, detail: RequestDetail) -> None:
        self.detail = detail
        self.panel.show_detail(detail)
        self._enable()

    def _enable(self) -> None:
        status = self.detail.status if self.detail else None
        open_ = status in OPEN_STATUSES
        self.buttons["edit"].setEnabled(open_)
        self.buttons["plan"].setEnabled(open_ and status is not InterventionStatus.IN_PROGRESS)
        self.buttons["start"].setEnabled(status in (InterventionStatus.NEW,
                                                    InterventionStatus.SCHEDULED,
                                                    InterventionStatus.REOPENED))
        self.buttons["close"].setEnabled(status in (InterventionStatus.SCHEDULED,
                                                    InterventionStatus.IN_PROGRESS))
        self.buttons["cancel"].setEnabled(open_)
        self.buttons["reopen"].setEnabled(status in (InterventionStatus.DONE,
                                                     InterventionStatus.CANCELLED))
        self.buttons["print"].setEnabled(self.detail is not None)
        self.buttons["letter"].setEnabled(self.detail is not None
                                          and self.detail.customer_id is not None)

    # --- actions ----------------------------------------------------------------------------
    def new_request(self) -> None:
        editor = RequestEditor(self.shell, self)

        def saved() -> None:  # the list reloads itself: the write announced the request
            self.number.clear()
            if editor.result_value is not None:
                self.load_detail(editor.result_value.request_id)

        editor.accepted.connect(saved)
        self._open(editor)

    def edit(self) -> None:
        if self.detail is None or self.detail.status not in OPEN_STATUSES:
            return
        self._open(RequestEditor(self.shell, self, detail=self.detail))

    def _open(self, dialog: FormDialog) -> None:
        self._dialog = dialog  # an open() dialog lives on after this method: keep its wrapper
        dialog.open()

    def schedule(self) -> None:
        if self.detail is not None:
            self._open(ScheduleDialog(self.shell, self.detail, self))

    def close_job(self) -> None:
        if self.detail is not None:
            self._open(ReportDialog(self.shell, self.detail, self))

    def _write(self, job: Callable[[], object]) -> None:
        def refused(error: BaseException) -> None:
            show_error(self, error)
            self.refresh()  # what another desk saved meanwhile

        self.shell.runner.write(job, on_failure=refused, parent=self)

    def start(self) -> None:
        if self.detail is None:
            return
        ctx, request_id, version = self.shell.ctx, self.detail.request_id, self.detail.version
        self._write(lambda: workflow.start(ctx, request_id, version))

    def _with_reason(self, title: str, question: str,
                     step: Callable[[Any, uuid.UUID, int, str], int]) -> None:
        if self.detail is None:
            return
        reason = messages.ask_text(self, title, question)
        if reason is None:
            return
        ctx, request_id, version = self.shell.ctx, self.detail.request_id, self.detail.version
        self._write(lambda: step(ctx, request_id, version, reason))

    def cancel(self) -> None:
        self._with_reason("Annuler la demande", "Motif de l'annulation :", workflow.cancel)

    def reopen(self) -> None:
        self._with_reason("Rouvrir la demande", "Motif de la réouverture :", workflow.reopen)

    def print_order(self) -> None:
        if self.detail is None:
            return
        ctx, request_id = self.shell.ctx, self.detail.request_id
        self.shell.runner.read(lambda: work_order_pdf(ctx, request_id),
                                 on_success=lambda r: save_and_open(self, *r),
                                 on_failure=lambda e: show_error(self, e), parent=self)

    def letter(self) -> None:
        """A letter to the request's customer (the "Avis de passage" template chosen first)."""
        from app.services.letters.sources import target_for_intervention
        from app.views.letters.letter_dialog import open_letter

        if self.detail is None or self.detail.customer_id is None:
            return
        ctx, request_id = self.shell.ctx, self.detail.request_id
        open_letter(self.shell, self, lambda: target_for_intervention(ctx, request_id))

    def export(self) -> None:
        path = messages.save_path(self, "Exporter les demandes", "demandes-intervention.csv",
                                  "CSV (*.csv)")
        if not path:
            return
        ctx, flt = self.shell.ctx, self.current_filter()
        self.shell.runner.read(
            lambda: lists.export_csv(ctx, flt, Path(path)),
            on_success=lambda n: messages.inform(
                self, "Export", f"{plural(n, 'demande exportée', 'demandes exportées')} : {path}"),
            on_failure=lambda e: show_error(self, e), parent=self)

