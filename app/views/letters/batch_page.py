"""The Courriers module: letters in batches. Choose a template and a selection, see how many
letters it makes, run it with a progress bar, cancel and resume, print the batch in one go."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.services.letters.batch import (
    BatchOutput,
    BatchPlan,
    BatchProgress,
    InArrears,
    OnStreet,
    Selection,
    batch_output,
    plan_batch,
    run_batch,
    streets_with_customers,
)
from app.services.letters.sources import INTERVENTION_TEMPLATE, DueTomorrow
from app.services.letters.templates import TemplateInfo, list_templates
from app.views.errors import show_error
from app.views.letters.output import save_and_open
from app.views.shell import Shell
from app.views.tasks import Progress

DUE_TOMORROW = 2  # the selection's place in the list


def letters(n: int) -> str:
    return f"{n} courrier{'s' if n > 1 else ''}"


class _Advance(QObject):
    """Carries the batch's progress from the writer thread to the page (queued)."""

    moved = Signal(int, int)


class BatchPage(QWidget):
    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        self.setObjectName("batchPage")
        self.plan: BatchPlan | None = None
        self.running: Progress | None = None
        self.advance = _Advance(self)
        self.advance.moved.connect(self._moved)

        title = QLabel("Courriers en nombre")
        title.setObjectName("pageTitle")
        self.template = QComboBox()
        self.template.setObjectName("batchTemplate")
        self.kind = QComboBox()
        self.kind.addItems(["Comptes avec des impayés", "Clients d'une rue",
                            "Rendez-vous d'intervention de demain"])
        self.min_amount = QLineEdit("10 000")
        self.days = QSpinBox()
        self.days.setRange(0, 3650)
        self.days.setValue(30)
        self.days.setSuffix(" jours")
        self.street = QComboBox()
        arrears = QWidget()
        arrears_form = QFormLayout(arrears)
        arrears_form.setContentsMargins(0, 0, 0, 0)
        arrears_form.addRow("Impayés d'au moins :", self.min_amount)
        arrears_form.addRow("Échus depuis plus de :", self.days)
        street = QWidget()
        street_form = QFormLayout(street)
        street_form.setContentsMargins(0, 0, 0, 0)
        street_form.addRow("&Rue :", self.street)
        self.criteria = QStackedWidget()
        self.criteria.addWidget(arrears)
        self.criteria.addWidget(street)
        tomorrow = QLabel("Un courrier par demande d'intervention planifiée demain "
                          "(avis de passage), au client de la demande.")
        tomorrow.setObjectName("hint")
        tomorrow.setWordWrap(True)
        self.criteria.addWidget(tomorrow)
        self.kind.currentIndexChanged.connect(self.criteria.setCurrentIndex)
        self.kind.currentIndexChanged.connect(lambda *_: self._forget_plan())
        self.kind.currentIndexChanged.connect(self._template_of_kind)
        self.subject = QLineEdit()
        self.appointment = QLineEdit()
        self.text = QLineEdit()

        form = QFormLayout()
        form.addRow("&Modèle :", self.template)
        form.addRow("&Sélection :", self.kind)
        form.addRow("", self.criteria)
        form.addRow("&Objet :", self.subject)
        form.addRow("Rendez-&vous :", self.appointment)
        form.addRow("&Texte libre :", self.text)

        self.count_button = QPushButton("&Compter")
        self.count_button.setObjectName("countBatch")
        self.count = QLabel()
        self.count.setObjectName("batchCount")
        self.run_button = QPushButton("&Lancer")
        self.run_button.setObjectName("runBatch")
        self.run_button.setEnabled(False)
        self.cancel_button = QPushButton("&Annuler")
        self.cancel_button.setEnabled(False)
        self.print_button = QPushButton("&Imprimer le lot")
        self.print_button.setObjectName("printBatch")
        self.print_button.setEnabled(False)
        self.templates_button = QPushButton("Mo&dèles et champs…")
        self.templates_button.setObjectName("manageTemplates")
        self.templates_button.clicked.connect(self.manage_templates)
        self.bar = QProgressBar()
        self.bar.setObjectName("batchProgress")
        self.bar.setFormat("%v / %m courriers")
        self.status = QLabel()
        self.status.setObjectName("batchStatus")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.count_button, self.run_button, self.cancel_button, self.print_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.templates_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.count)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.count_button.clicked.connect(self.count_letters)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.print_button.clicked.connect(self.print_batch)
        for edit in (self.min_amount, self.subject, self.appointment, self.text):
            edit.textChanged.connect(lambda *_: self._forget_plan())
        self.days.valueChanged.connect(lambda *_: self._forget_plan())
        self.street.currentIndexChanged.connect(lambda *_: self._forget_plan())
        self.template.currentIndexChanged.connect(lambda *_: self._forget_plan())
        self.refresh()

    # --- Page -------------------------------------------------------------------------------
    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        self.template.setFocus()

    def refresh(self) -> None:
        """F5: the templates and streets again (a template may have come from central)."""
        if self.running is not None:
            return
        ctx = self.shell.ctx
        self.shell.runner.read(lambda: (list_templates(ctx), streets_with_customers(ctx)),
                               on_success=self._fill, on_failure=lambda e: show_error(self, e),
                               parent=self)

    def closing(self) -> None:
        self.cancel()

    def _fill(self, loaded: tuple[list[TemplateInfo], list[tuple[object, str]]]) -> None:
        templates, streets = loaded
        chosen, street = self.template.currentText(), self.street.currentText()
        self.template.clear()
        self.street.clear()
        for template in templates:
            self.template.addItem(template.name, template)
        for street_id, name in streets:
            self.street.addItem(name, street_id)
        self.template.setCurrentIndex(max(self.template.findText(chosen), 0))
        self.street.setCurrentIndex(max(self.street.findText(street), 0))

    def _forget_plan(self) -> None:
        if self.running is not None:
            return
        self.plan = None
        self.run_button.setEnabled(False)
        self.print_button.setEnabled(False)
        self.count.clear()

    def _template_of_kind(self, index: int) -> None:
        """Requests due tomorrow: the "avis de passage" template is chosen for them."""
        if index != DUE_TOMORROW:
            return
        for row in range(self.template.count()):
            if self.template.itemData(row).code == INTERVENTION_TEMPLATE:
                self.template.setCurrentIndex(row)

    def selection(self) -> Selection:
        if self.kind.currentIndex() == DUE_TOMORROW:
            return DueTomorrow()
        if self.kind.currentIndex() == 1:
            return OnStreet(self.street.currentData(), self.street.currentText().split(" — ")[0])
        currency = self.shell.ctx.installation.currency
        return InArrears(currency.to_minor(currency.parse(self.min_amount.text() or "0")),
                         self.days.value())

    def count_letters(self) -> None:
        template = self.template.currentData()
        if template is None:
            return
        try:
            selection = self.selection()
        except Exception as error:  # a wrong amount: said to the agent
            show_error(self, error)
            return
        ctx = self.shell.ctx
        free = {"objet": self.subject.text(), "rendez_vous": self.appointment.text(),
                "texte": self.text.text()}
        self.shell.runner.read(lambda: plan_batch(ctx, template.id, selection, free),
                               on_success=self._planned, on_failure=lambda e: show_error(self, e),
                               parent=self)

    def _planned(self, plan: BatchPlan) -> None:
        self.plan = plan
        n = len(plan.subjects)
        self.count.setText(f"{plan.description} : {letters(n)} à produire."
                           if n else f"{plan.description} : aucun courrier à produire.")
        self.bar.setRange(0, max(n, 1))
        self.bar.setValue(0)
        self.status.clear()
        self.run_button.setText("&Lancer")
        self.run_button.setEnabled(n > 0)

    def run(self) -> None:
        plan = self.plan
        if plan is None or self.running is not None:
            return
        ctx, advance = self.shell.ctx, self.advance

        def work(progress: Progress) -> BatchProgress:
            def moved(step: BatchProgress) -> None:
                advance.moved.emit(step.done, step.total)
                progress(step.done, step.total)
            return run_batch(ctx, plan, moved, lambda: progress.cancelled)

        self.run_button.setEnabled(False)
        self.count_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("Production des courriers…")
        self.running = self.shell.runner.write(work, on_success=self._ran,
                                               on_failure=self._failed, parent=self)

    def cancel(self) -> None:
        if self.running is not None:
            self.running.cancel()
            self.status.setText("Arrêt après le paquet de courriers en cours…")

    def _moved(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)

    def _stopped(self) -> None:
        self.running = None
        self.cancel_button.setEnabled(False)
        self.count_button.setEnabled(True)

    def _failed(self, error: BaseException) -> None:
        self._stopped()
        self.run_button.setEnabled(True)
        show_error(self, error)

    def _ran(self, result: BatchProgress) -> None:
        self._stopped()
        self._moved(result.done, result.total)
        if result.cancelled:
            self.status.setText(f"Lot interrompu : {letters(result.done)} sur {result.total} "
                                "produits (numérotés sans trou). « Reprendre » produit les "
                                "suivants, chacun une seule fois.")
            self.run_button.setText("&Reprendre")
            self.run_button.setEnabled(True)
        else:
            self.status.setText(f"Lot terminé : {letters(result.done)} "
                                f"{'produits et archivés' if result.done > 1 else 'produit et archivé'} "
                                "dans les dossiers des clients.")
            self.run_button.setEnabled(False)
        self.print_button.setEnabled(result.done > 0)

    def manage_templates(self) -> None:
        from app.views.letters.templates_dialog import TemplatesDialog

        dialog = TemplatesDialog(self.shell, self)
        dialog.finished.connect(lambda *_: self.refresh())
        dialog.open()

    def print_batch(self) -> None:
        plan = self.plan
        if plan is None:
            return
        ctx = self.shell.ctx
        self.shell.runner.write(lambda: batch_output(ctx, plan), on_success=self._printed,
                                on_failure=lambda e: show_error(self, e),
                                label="Assemblage du lot pour l'impression…", parent=self)

    def _printed(self, output: BatchOutput) -> None:
        kind = "PDF" if output.is_pdf else "document Word (LibreOffice n'est pas installé)"
        save_and_open(self, Path(self.shell.settings.data_dir), output.filename, output.data,
                      title="Lot de courriers",
                      what=f"{letters(output.letters)} réunis en un seul {kind}.")
