"""The shipped templates and the template checker."""

from __future__ import annotations

import io
import zipfile

import pytest

from app.services.letters.checker import check_template, is_usable
from app.services.letters.engine import render
from app.services.letters.fields import catalogue, example_data
from app.services.letters.templates import list_templates, save_agency_template
from kernel.context import ServiceContext
from kernel.errors import ValidationError
from resources.letters.shipped import SHIPPED, Shipped, build
from tests.services.letters.helpers import docx_of, text_of, with_shipped


@pytest.mark.parametrize("shipped", SHIPPED, ids=lambda s: s.code)
def test_every_shipped_template_passes_the_checker_and_merges(shipped: Shipped) -> None:
    content = build(shipped)
    assert check_template(content) == []
    text = text_of(render(content, example_data()))
    assert "{{" not in text and "{%" not in text
    assert "KONÉ Hélène" in text and "5 décembre 2026" in text


def test_the_catalogue_gives_meaning_and_example_of_each_field() -> None:
    by_name = {f.name: f for _section, f in catalogue()}
    assert by_name["compte.impayes"].meaning == "Montant des factures échues non réglées"
    assert by_name["compte.solde"].example == "12 500 FCFA"
    assert "factures_impayees[].montant" in by_name


def test_a_field_split_across_runs_still_merges_but_a_formatting_change_is_reported() -> None:
    content = docx_of(["Bonjour {", "{ client.", "nom", " }}"])
    problems = check_template(content)
    assert is_usable(problems)
    assert [p.is_error for p in problems] == [False]
    assert "la mise en forme change à l'intérieur de {{ client.nom }}" in str(problems[0])
    assert "paragraphe 1" in str(problems[0])
    assert "Bonjour KONÉ Hélène" in text_of(render(content, example_data()))


def test_the_checker_finds_each_defect_with_its_place() -> None:
    problems = check_template(docx_of(
        "Madame,",
        "Votre solde : {{ compte.sold }}",
        "{% if compte.a_payer %}Vous devez {{ compte.impayes }}.",
        "{{ client.nom",
        "}}",
        "{% for f in factures_impayees %}{{ f.numro }}{% endfor %}",
        "{ { agence.nom }}",
        "{% endfor %}",
    ))
    messages = [str(p) for p in problems]
    assert not is_usable(problems)
    expected = [
        "paragraphe 2 « Votre solde : {{ compte.sold }} » : champ inconnu « compte.sold »",
        "paragraphe 4 « {{ client.nom » : champ ouvert mais pas fermé dans le même paragraphe",
        "paragraphe 5 « }} » : fin de champ sans début",
        "paragraphe 6 « {% for f in factures_impayees %}{{ f.numro }}{% endfor %} » : "
        "champ inconnu « f.numro » : une ligne de factures_impayees a date, echeance, montant, "
        "numero, periode",
        "paragraphe 7 « { { agence.nom }} » : accolades séparées « { { »",
        "paragraphe 8 « {% endfor %} » : {% endfor %} ferme une boucle qui n'a pas été ouverte "
        "(la condition ouverte paragraphe 3",
        "paragraphe 3 « {% if compte.a_payer %}Vous devez {{ compte.impayes }}. » : la condition "
        "ouverte ici n'est jamais fermée (il manque {% endif %})",
    ]
    for start in expected:
        assert any(m.startswith(start) for m in messages), (start, messages)


def test_a_missing_image_is_reported() -> None:
    from docx import Document
    from docx.shared import Cm
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(picture, "PNG")
    document = Document()
    document.add_paragraph("Logo :")
    document.add_picture(io.BytesIO(picture.getvalue()), width=Cm(2))
    out = io.BytesIO()
    document.save(out)
    assert check_template(out.getvalue()) == []
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as source, \
            zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            if not item.filename.startswith("word/media/"):
                target.writestr(item, source.read(item.filename))
    problems = check_template(broken.getvalue())
    assert [str(p) for p in problems] == [
        "document, image 1 : image introuvable dans le fichier (lien cassé) : insérez-la de nouveau"]


def test_a_template_failing_the_check_cannot_be_added_and_a_good_one_gets_revisions(
        ctx: ServiceContext) -> None:
    with_shipped(ctx)
    with pytest.raises(ValidationError) as refused:
        save_agency_template(ctx, "relance2", "Relance", "Recouvrement",
                             docx_of("{% if compte.a_payer %}À payer"))
    assert "n'est jamais fermée" in refused.value.fields["content"]
    good = docx_of("{{ client.appel }}, votre solde est de {{ compte.solde }}.")
    first, _ = save_agency_template(ctx, "relance2", "Relance courte", "Recouvrement", good)
    second, _ = save_agency_template(ctx, "RELANCE2", "Relance courte", "Recouvrement", good)
    assert first == second
    templates = {t.code: t for t in list_templates(ctx)}
    assert templates["RELANCE2"].revision == 2 and templates["RELANCE2"].is_agency_own
    assert templates["RAPPEL"].revision == 1 and not templates["RAPPEL"].is_agency_own
    assert len(templates) == len(SHIPPED) + 1


@pytest.mark.parametrize("shipped", SHIPPED[:2], ids=lambda s: s.code)
def test_the_quick_merge_gives_what_docxtpl_gives(shipped: Shipped) -> None:
    from app.services.letters.engine import render_with_docxtpl

    content, data = build(shipped), example_data()
    assert text_of(render(content, data)) == text_of(render_with_docxtpl(content, data))


def test_docxtpl_run_and_paragraph_forms_are_checked_and_merged() -> None:
    from docxtpl import RichText

    content = docx_of("Madame {{r client.nom }}, bonjour.", "Avant", "{{p libre.texte }}",
                      "{%p if compte.a_payer %}", "Vous devez {{ compte.impayes }}.",
                      "{%p endif %}", "A {%r if compte.a_payer %}payer{%r endif %} B",
                      "{{p libre.objet }}", "Fin")
    assert check_template(content) == []
    data = example_data()
    data["libre"]["texte"] = "Première ligne & <suite>\nSeconde ligne"
    data["libre"]["objet"] = ""
    merged = render(content, data)
    text = text_of(merged)
    assert text.split("\n")[:6] == [
        "Madame KONÉ Hélène, bonjour.", "Avant", "Première ligne & <suite>", "Seconde ligne",
        "Vous devez 8 000 FCFA.", "A payer B"]
    assert "\nFin" in text and "\n\nFin" not in text, "an empty {{p}} leaves no paragraph"
    data["client"]["nom"] = RichText("KONÉ", bold=True)  # docxtpl's own rich text still works
    from docx import Document

    runs = Document(io.BytesIO(render(content, data))).paragraphs[0].runs
    assert [(r.text, bool(r.bold)) for r in runs if r.text.strip()] == [
        ("Madame ", False), ("KONÉ", True), (", bonjour.", False)]


def test_docxtpl_forms_misplaced_are_reported() -> None:
    problems = [str(p) for p in check_template(docx_of(
        "Votre texte : {{p libre.texte }}",
        "{%tr for facture in factures_impayees %}",
        "{{ facture.numero }}",
        "{%tr endfor %}",
        "{{tr client.nom }}",
    ))]
    assert problems == [
        "paragraphe 1 « Votre texte : {{p libre.texte }} » : {{p libre.texte }} remplace tout "
        "son paragraphe : le reste du texte serait perdu ; mettez-le seul dans un paragraphe",
        "paragraphe 2 « {%tr for facture in factures_impayees %} » : {%tr for facture in "
        "factures_impayees %} répète ou retire une ligne de tableau : il doit être dans un "
        "tableau",
        "paragraphe 4 « {%tr endfor %} » : {%tr endfor %} répète ou retire une ligne de "
        "tableau : il doit être dans un tableau",
        "paragraphe 5 « {{tr client.nom }} » : {{tr client.nom }} : la forme {{tr …}} n'est pas "
        "prise en charge ; écrivez {{ … }} dans la cellule",
    ]


def test_an_empty_paragraph_field_in_a_table_cell_keeps_the_cell_valid() -> None:
    from docx import Document

    document = Document()
    cells = document.add_table(rows=1, cols=2).rows[0].cells
    cells[0].text, cells[1].text = "{{p libre.objet }}", "{{p libre.texte }}"
    out = io.BytesIO()
    document.save(out)
    assert check_template(out.getvalue()) == []
    data = example_data()
    data["libre"].update(objet="", texte="Une\nDeux")
    merged = Document(io.BytesIO(render(out.getvalue(), data))).tables[0].rows[0].cells
    assert [len(c.paragraphs) for c in merged] == [1, 2]
    assert [p.text for p in merged[1].paragraphs] == ["Une", "Deux"]
