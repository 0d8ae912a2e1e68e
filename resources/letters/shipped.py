"""Builds the shipped French letter templates (.docx with docxtpl fields) with python-docx.

Run ``python -m resources.letters.shipped OUT_DIR`` to write them as files (to open in Word and
adapt); central stores them as reference data (``app.services.letters.templates``)."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt, RGBColor

FONT = "Arial"
BLUE = RGBColor(0x1F, 0x3A, 0x5F)


@dataclass(frozen=True)
class Shipped:
    code: str
    name: str
    category: str
    body: Callable[[DocxDocument], None]
    subject: str


def _base() -> DocxDocument:
    document = Document()
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin = section.bottom_margin = Cm(1.8)
    section.left_margin = section.right_margin = Cm(2.2)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10.5)
    normal.paragraph_format.space_after = Pt(6)
    header = section.header.paragraphs[0]
    run = header.add_run("{{ agence.nom }}")
    run.bold, run.font.size, run.font.color.rgb = True, Pt(13), BLUE
    line = section.header.add_paragraph("{{ agence.adresse }} — Tél. {{ agence.telephone }}")
    line.runs[0].font.size = Pt(9)
    footer = section.footer.paragraphs[0]
    footer.text = ("Courrier n° {{ courrier.numero }} — {{ agence.nom }} — "
                   "{{ agence.email }}")
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.runs[0].font.size = Pt(8)
    return document


def _addressee(document: DocxDocument, subject: str) -> None:
    document.add_paragraph()
    for text, bold in (("{{ client.nom_complet }}", True), ("{{ local.adresse }}", False),
                       ("Compte n° {{ compte.numero }}", False)):
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.left_indent = Cm(9.5)
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(text).bold = bold
    place = document.add_paragraph("{{ agence.ville }}, le {{ date.jour }}")
    place.paragraph_format.left_indent = Cm(9.5)
    place.paragraph_format.space_before = Pt(18)
    reference = document.add_paragraph()
    reference.paragraph_format.space_before = Pt(18)
    reference.add_run("Objet : ").bold = True
    reference.add_run(subject)
    reference.add_run("\nRéf. : {{ courrier.numero }}").font.size = Pt(9)
    document.add_paragraph()
    document.add_paragraph("{{ client.appel }},")


def _free_text(document: DocxDocument) -> None:
    """The agent's paragraph, and no empty line when there is none."""
    for text in ("{%p if libre.texte %}", "{{ libre.texte }}", "{%p endif %}"):
        document.add_paragraph(text)


def _signature(document: DocxDocument, closing: str) -> None:
    document.add_paragraph(closing)
    document.add_paragraph()
    for text in ("{{ agent.nom }}", "Pour le chef d'agence"):
        paragraph = document.add_paragraph(text)
        paragraph.paragraph_format.left_indent = Cm(9.5)
        paragraph.paragraph_format.space_after = Pt(0)


_CLOSING = ("Nous vous prions d'agréer, {{ client.appel }}, l'expression de nos salutations "
            "distinguées.")


def _unpaid_table(document: DocxDocument) -> None:
    table = document.add_table(rows=3, cols=4)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, title in zip(table.rows[0].cells, ("Facture", "Date", "Échéance", "Montant"),
                           strict=True):
        cell.paragraphs[0].add_run(title).bold = True
    table.rows[1].cells[0].text = "{%tr for facture in factures_impayees %}"
    row = table.add_row()  # the repeated row sits between the two tag rows
    row._tr.getparent().remove(row._tr)
    table.rows[1]._tr.addnext(row._tr)
    for cell, text in zip(table.rows[2].cells, ("{{ facture.numero }}", "{{ facture.date }}",
                                                "{{ facture.echeance }}",
                                                "{{ facture.montant }}"), strict=True):
        cell.text = text
    table.rows[2].cells[3].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    table.rows[3].cells[0].text = "{%tr endfor %}"
    document.add_paragraph()


def _reminder(document: DocxDocument) -> None:
    document.add_paragraph(
        "Sauf erreur de notre part, les factures ci-dessous de votre compte n° "
        "{{ compte.numero }} ({{ local.adresse }}) restent impayées à ce jour :")
    _unpaid_table(document)
    paragraph = document.add_paragraph("Le montant des factures échues s'élève à ")
    paragraph.add_run("{{ compte.impayes }}").bold = True
    paragraph.add_run(" ; le solde de votre compte est de {{ compte.solde }}.")
    document.add_paragraph(
        "Nous vous remercions de bien vouloir régler cette somme avant le "
        "{{ date.dans_15_jours }}, à l'agence ou par mobile money. Si vous avez réglé entre-temps, "
        "nous vous prions de ne pas tenir compte de ce rappel.")
    _free_text(document)
    _signature(document, _CLOSING)


def _disconnection(document: DocxDocument) -> None:
    document.add_paragraph(
        "Malgré nos précédents rappels, votre compte n° {{ compte.numero }} présente des factures "
        "échues non réglées pour un montant de {{ compte.impayes }} :")
    _unpaid_table(document)
    paragraph = document.add_paragraph(
        "Sans règlement de votre part avant le ")
    paragraph.add_run("{{ date.dans_8_jours }}").bold = True
    paragraph.add_run(
        ", nous serons contraints de procéder à la coupure de la fourniture "
        "({{ compteur.energie }}, compteur n° {{ compteur.numero }}). Les frais de coupure et de "
        "remise en service seront à votre charge.")
    document.add_paragraph(
        "Pour éviter la coupure, présentez-vous à notre agence ({{ agence.nom }}) ou appelez le "
        "{{ agence.telephone }} afin de convenir d'un échéancier.")
    _free_text(document)
    _signature(document, _CLOSING)


def _appointment(document: DocxDocument) -> None:
    document.add_paragraph(
        "Suite à votre demande, nous vous confirmons le passage de nos techniciens à l'adresse "
        "suivante : {{ local.adresse }}.")
    paragraph = document.add_paragraph("Rendez-vous : ")
    paragraph.add_run("{{ libre.rendez_vous }}").bold = True
    document.add_paragraph(
        "Nous vous remercions d'assurer la présence d'une personne majeure et de laisser libre "
        "l'accès au compteur n° {{ compteur.numero }}. En cas d'empêchement, merci de prévenir "
        "l'agence au {{ agence.telephone }} au moins 24 heures à l'avance.")
    _free_text(document)
    _signature(document, _CLOSING)


def _quote_cover(document: DocxDocument) -> None:
    document.add_paragraph(
        "Vous trouverez ci-joint notre devis{% if libre.reference %} n° {{ libre.reference }}"
        "{% endif %} pour les travaux demandés à l'adresse {{ local.adresse }}.")
    document.add_paragraph(
        "Ce devis est valable trois mois. Pour accepter les travaux, retournez-le daté et signé "
        "avec la mention « Bon pour accord », accompagné du règlement de l'acompte, à notre "
        "agence ({{ agence.nom }}).")
    _free_text(document)
    _signature(document, "Restant à votre disposition pour tout renseignement, nous vous prions "
                         "d'agréer, {{ client.appel }}, l'expression de nos salutations "
                         "distinguées.")


def _welcome(document: DocxDocument) -> None:
    document.add_paragraph(
        "Nous avons le plaisir de vous souhaiter la bienvenue parmi nos abonnés. Votre contrat "
        "n° {{ contrat.numero }} a pris effet le {{ contrat.debut }} pour le local situé "
        "{{ local.adresse }}.")
    for label, value in (("Compte client", "{{ compte.numero }}"),
                         ("Compteur", "{{ compteur.numero }} ({{ compteur.energie }})"),
                         ("Votre agence", "{{ agence.nom }}, {{ agence.adresse }}"),
                         ("Téléphone", "{{ agence.telephone }}")):
        paragraph = document.add_paragraph(style="List Bullet")
        paragraph.add_run(f"{label} : ").bold = True
        paragraph.add_run(value)
    document.add_paragraph(
        "Rappelez votre numéro de compte pour tout paiement ou toute demande. Vos factures "
        "peuvent être réglées à l'agence ou par mobile money.")
    _free_text(document)
    _signature(document, _CLOSING)


def _complaint(document: DocxDocument) -> None:
    document.add_paragraph(
        "Nous avons bien reçu votre réclamation{% if libre.reference %} (réf. "
        "{{ libre.reference }}){% endif %} concernant votre compte n° {{ compte.numero }} et "
        "nous vous remercions de nous l'avoir signalée.")
    document.add_paragraph("{{ libre.texte }}")
    document.add_paragraph(
        "{% if compte.a_payer %}Le solde de votre compte est à ce jour de {{ compte.solde }}."
        "{% else %}Votre compte ne présente aucun impayé à ce jour.{% endif %}")
    _signature(document, "Nous restons à votre écoute et vous prions d'agréer, "
                         "{{ client.appel }}, l'expression de nos salutations distinguées.")


def _quote_sent(document: DocxDocument) -> None:
    document.add_paragraph(
        "Suite à votre demande, nous avons le plaisir de vous adresser notre devis n° "
        "{{ devis.numero }} du {{ devis.date }} ({{ devis.objet }}) pour les travaux à réaliser "
        "à l'adresse suivante : {{ devis.site }}.")
    table = document.add_table(rows=3, cols=3)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, title in zip(table.rows[0].cells, ("Désignation", "Quantité", "Montant TTC"),
                           strict=True):
        cell.paragraphs[0].add_run(title).bold = True
    table.rows[1].cells[0].text = "{%tr for ligne in lignes_devis %}"
    row = table.add_row()
    row._tr.getparent().remove(row._tr)
    table.rows[1]._tr.addnext(row._tr)
    for cell, text in zip(table.rows[2].cells, ("{{ ligne.designation }}", "{{ ligne.quantite }}",
                                                "{{ ligne.montant }}"), strict=True):
        cell.text = text
    table.rows[2].cells[2].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    table.rows[3].cells[0].text = "{%tr endfor %}"
    document.add_paragraph()
    paragraph = document.add_paragraph("Le montant total des travaux s'élève à ")
    paragraph.add_run("{{ devis.montant }}").bold = True
    paragraph.add_run(" TTC (dont TVA {{ devis.tva }}). Ce devis est valable jusqu'au ")
    paragraph.add_run("{{ devis.validite }}").bold = True
    paragraph.add_run(".")
    document.add_paragraph(
        "Pour accepter les travaux, retournez-nous un exemplaire daté et signé avec la mention "
        "« Bon pour accord », ou signez-le à notre agence ({{ agence.nom }}). Les travaux seront "
        "planifiés dès réception de votre accord.")
    _free_text(document)
    _signature(document, "Restant à votre disposition pour tout renseignement, nous vous prions "
                         "d'agréer, {{ client.appel }}, l'expression de nos salutations "
                         "distinguées.")


def _visit_notice(document: DocxDocument) -> None:
    document.add_paragraph(
        "Nous vous informons que nos services interviendront pour votre demande n° "
        "{{ intervention.numero }} ({{ intervention.nature }}) à l'adresse suivante : "
        "{{ intervention.adresse }}.")
    paragraph = document.add_paragraph("Rendez-vous : ")
    paragraph.add_run("{{ intervention.creneau }}").bold = True
    for text in ("{%p if intervention.technicien %}",
                 "Technicien chargé de l'intervention : {{ intervention.technicien }}.",
                 "{%p endif %}"):
        document.add_paragraph(text)
    document.add_paragraph(
        "Nous vous remercions d'assurer la présence d'une personne majeure et de laisser libre "
        "l'accès aux installations{% if compteur.numero %} et au compteur n° "
        "{{ compteur.numero }}{% endif %}. En cas d'empêchement, merci de prévenir l'agence au "
        "{{ agence.telephone }} au moins 24 heures à l'avance afin de convenir d'un autre "
        "rendez-vous.")
    _free_text(document)
    _signature(document, _CLOSING)


SHIPPED: tuple[Shipped, ...] = (
    Shipped("RAPPEL", "Rappel de paiement", "Recouvrement", _reminder,
            "Rappel de factures impayées"),
    Shipped("COUPURE", "Avis de coupure pour impayés", "Recouvrement", _disconnection,
            "Avis de coupure pour impayés"),
    Shipped("RDV", "Confirmation de rendez-vous d'intervention", "Interventions", _appointment,
            "Confirmation de rendez-vous"),
    Shipped("DEVIS", "Lettre d'accompagnement de devis", "Travaux", _quote_cover,
            "Votre devis de travaux"),
    Shipped("BIENVENUE", "Bienvenue (emménagement)", "Abonnement", _welcome,
            "Bienvenue — votre abonnement"),
    Shipped("RECLAMATION", "Réponse à une réclamation", "Réclamations", _complaint,
            "{% if libre.objet %}{{ libre.objet }}{% else %}Votre réclamation{% endif %}"),
    Shipped("ENVOI_DEVIS", "Envoi de devis", "Travaux", _quote_sent,
            "Votre devis de travaux n° {{ devis.numero }}"),
    Shipped("AVIS_PASSAGE", "Avis de passage / rendez-vous", "Interventions", _visit_notice,
            "Avis de passage — demande n° {{ intervention.numero }}"),
)


def build(shipped: Shipped) -> bytes:
    document = _base()
    _addressee(document, shipped.subject)
    shipped.body(document)
    document.core_properties.title = shipped.name
    document.core_properties.author = "Guichet"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def main(folder: str) -> None:
    for shipped in SHIPPED:
        (Path(folder) / f"{shipped.code.lower()}.docx").write_bytes(build(shipped))


if __name__ == "__main__":
    main(sys.argv[1])
