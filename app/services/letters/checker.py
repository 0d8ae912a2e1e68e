"""The template checker: what would make a template merge wrongly or not at all, in French,
with where it is. A template with any error cannot be used.

docxtpl joins the runs inside ``{{ … }}`` and ``{% … %}`` of one paragraph, so a field Word
split into several runs still merges; what it cannot mend is a field cut across paragraphs, or
braces separated by a space (``{ {``). A field whose formatting changes inside is merged with
the formatting of its first run: reported as a warning."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from lxml import etree

from app.services.letters.engine import environment
from app.services.letters.fields import example_data, known_names, row_names

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
#: ``{{ field }}`` (group 1) or ``{% statement %}`` (group 3), with docxtpl's ``p``/``tr``/``tc``/
#: ``r`` before a statement (group 2): the paragraph, table row, cell or run that holds it goes.
_TAG = re.compile(r"\{\{(.*?)\}\}|\{%-?\s*(?:(p|tr|tc|r)\s+)?(.*?)-?%\}", re.S)
#: docxtpl's ``{{r field }}`` (a run of its own) and ``{{p field }}`` (paragraphs of their own).
_FIELD_FORM = re.compile(r"(p|r|tr|tc)\s+(.*)", re.S)
_BROKEN = re.compile(r"\{\s+\{|\}\s+\}|\{\s+%|%\s+\}")
_BLOCKS = {"if": "endif", "for": "endfor"}
_BLOCK_NAMES = {"if": "condition", "for": "boucle"}


@dataclass(frozen=True)
class Problem:
    where: str
    message: str
    is_error: bool = True

    def __str__(self) -> str:
        return f"{self.where} : {self.message}"


@dataclass(frozen=True)
class _Paragraph:
    where: str
    runs: list[tuple[str, bytes]]  # (text, formatting) of each run
    in_table: bool = False

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.runs)


def check_template(content: bytes) -> list[Problem]:
    """Every problem found, errors first."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        archive.getinfo("word/document.xml")
    except (zipfile.BadZipFile, KeyError):
        return [Problem("Fichier", "ce n'est pas un document Word (.docx) lisible")]
    problems: list[Problem] = []
    paragraphs = list(_paragraphs(archive))
    stack: list[tuple[str, str]] = []
    loops: dict[str, str] = {}
    for paragraph in paragraphs:
        problems += _check_paragraph(paragraph, stack, loops)
    for keyword, where in stack:
        problems.append(Problem(where, f"la {_BLOCK_NAMES[keyword]} ouverte ici n'est jamais "
                                       f"fermée (il manque {{% {_BLOCKS[keyword]} %}})"))
    problems += _check_images(archive)
    if not any(p.is_error for p in problems):
        problems += _try_merge(content)
    return sorted(problems, key=lambda p: not p.is_error)


_ORIGIN_NAMES = {"devis": "devis", "lignes_devis": "devis", "intervention": "intervention"}


def origins_used(content: bytes) -> set[str]:
    """What a template's fields are read from beyond the customer: ``devis`` (a works quote),
    ``intervention`` (a request). A letter from such a template is made from one."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        return set()
    found = set()
    for paragraph in _paragraphs(archive):
        for match in _TAG.finditer(paragraph.text):
            for name in re.findall(r"[A-Za-z_]\w*", match.group()):
                if name in _ORIGIN_NAMES:
                    found.add(_ORIGIN_NAMES[name])
    return found


def is_usable(problems: list[Problem]) -> bool:
    return not any(p.is_error for p in problems)


def _paragraphs(archive: zipfile.ZipFile) -> Any:
    parts = [("word/document.xml", "")]
    parts += [(name, "en-tête") for name in sorted(archive.namelist())
              if re.fullmatch(r"word/header\d*\.xml", name)]
    parts += [(name, "pied de page") for name in sorted(archive.namelist())
              if re.fullmatch(r"word/footer\d*\.xml", name)]
    for name, label in parts:
        root = etree.fromstring(archive.read(name))
        for number, p in enumerate(root.iter(f"{{{W}}}p"), start=1):
            runs = []
            for run in p.iter(f"{{{W}}}r"):
                text = "".join(t.text or "" for t in run.iter(f"{{{W}}}t"))
                if text:
                    props = run.find(f"{{{W}}}rPr")
                    runs.append((text, etree.tostring(props) if props is not None else b""))
            in_table = any(a.tag == f"{{{W}}}tbl" for a in p.iterancestors())
            where = f"{label + ', ' if label else ''}paragraphe {number}" \
                + (" (dans un tableau)" if in_table else "")
            yield _Paragraph(where, runs, in_table)


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f"« {text[:60]}{'…' if len(text) > 60 else ''} »"


def _check_paragraph(paragraph: _Paragraph, stack: list[tuple[str, str]],
                     loops: dict[str, str]) -> list[Problem]:
    text = paragraph.text
    if "{" not in text and "}" not in text:
        return []
    where = f"{paragraph.where} {_quote(text)}"
    problems = []
    for match in _BROKEN.finditer(text):
        problems.append(Problem(where, f"accolades séparées « {match.group()} » : écrivez {{{{ "
                                       "ou {% sans espace"))
    leftover = _TAG.sub("", text)
    if "{{" in leftover or "{%" in leftover:
        problems.append(Problem(where, "champ ouvert mais pas fermé dans le même paragraphe "
                                       "(champ coupé par la mise en forme ou un retour à la ligne)"))
    elif "}}" in leftover or "%}" in leftover:
        problems.append(Problem(where, "fin de champ sans début dans ce paragraphe "
                                       "(champ coupé par la mise en forme ou un retour à la ligne)"))
    for match in _TAG.finditer(text):
        tag = match.group()
        if any(q in tag for q in "“”«»’"):
            problems.append(Problem(where, f"{tag} contient des guillemets typographiques : "
                                           "utilisez les guillemets droits \" ou '"))
            continue
        if _formatting_changes(paragraph.runs, match.start(), match.end()):
            problems.append(Problem(where, f"la mise en forme change à l'intérieur de {tag} : "
                                           "seule celle du début du champ sera gardée",
                                    is_error=False))
        expression, form = match.group(1), match.group(2)
        if expression is not None:
            field_form = _FIELD_FORM.fullmatch(expression)
            if field_form is not None:
                form, expression = field_form.groups()
        problems += _check_form(where, paragraph, tag, form)
        if expression is not None:
            problems += _check_expression(where, expression, loops)
        else:
            problems += _check_block(where, match.group(3).strip(), stack, loops)
    return problems


def _check_form(where: str, paragraph: _Paragraph, tag: str, form: str | None) -> list[Problem]:
    """docxtpl's forms: ``p`` takes the whole paragraph away (so it must stand alone in it),
    ``tr``/``tc`` a table row or cell (so it must be in a table); ``{{tr}}``/``{{tc}}`` fields
    are not merged by Guichet."""
    if form is None or form == "r":
        return []
    if tag.startswith("{{") and form in ("tr", "tc"):
        return [Problem(where, f"{tag} : la forme {{{{{form} …}}}} n'est pas prise en charge ; "
                               f"écrivez {{{{ … }}}} dans la cellule")]
    if form == "p" and paragraph.text.replace(tag, "", 1).strip():
        return [Problem(where, f"{tag} remplace tout son paragraphe : le reste du texte serait "
                               "perdu ; mettez-le seul dans un paragraphe")]
    if form in ("tr", "tc") and not paragraph.in_table:
        what = "ligne" if form == "tr" else "cellule"
        return [Problem(where, f"{tag} répète ou retire une {what} de tableau : il doit être "
                               "dans un tableau")]
    return []


def _formatting_changes(runs: list[tuple[str, bytes]], start: int, end: int) -> bool:
    seen, position = set(), 0
    for text, props in runs:
        if position < end and position + len(text) > start and text.strip():
            seen.add(props)
        position += len(text)
    return len(seen) > 1


def _check_expression(where: str, expression: str, loops: dict[str, str]) -> list[Problem]:
    try:
        tree = environment().parse(f"{{{{ {expression} }}}}")
    except TemplateSyntaxError as error:
        return [Problem(where, f"« {{{{{expression}}}}} » n'est pas un champ valide ({error.message})")]
    return _unknown_names(where, tree, loops)


def _check_block(where: str, statement: str, stack: list[tuple[str, str]],
                 loops: dict[str, str]) -> list[Problem]:
    keyword = statement.split(" ", 1)[0] if statement else ""
    if keyword in _BLOCKS:
        stack.append((keyword, where))
        source = f"{{% {statement} %}}{{% {_BLOCKS[keyword]} %}}"
        try:
            tree = environment().parse(source)
        except TemplateSyntaxError as error:
            return [Problem(where, f"« {{% {statement} %}} » n'est pas valide ({error.message})")]
        problems = _unknown_names(where, tree, loops)
        for loop in tree.find_all(nodes.For):
            if isinstance(loop.target, nodes.Name) and isinstance(loop.iter, nodes.Name):
                loops[loop.target.name] = loop.iter.name
        return problems
    if keyword in ("endif", "endfor"):
        opening = "if" if keyword == "endif" else "for"
        if not stack or stack[-1][0] != opening:
            expected = f" (la {_BLOCK_NAMES[stack[-1][0]]} ouverte {stack[-1][1]} n'est pas " \
                "fermée avant)" if stack else ""
            return [Problem(where, f"{{% {keyword} %}} ferme une {_BLOCK_NAMES[opening]} "
                                   f"qui n'a pas été ouverte{expected}")]
        stack.pop()
        return []
    if keyword in ("else", "elif"):
        if not stack or stack[-1][0] != "if":
            return [Problem(where, f"{{% {keyword} %}} hors d'une condition {{% if %}}")]
        return []
    return [Problem(where, f"instruction inconnue « {{% {statement} %}} »")]


def _dotted(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        parent = _dotted(node.node)
        return f"{parent}.{node.attr}" if parent else None
    return None


def _unknown_names(where: str, tree: nodes.Template, loops: dict[str, str]) -> list[Problem]:
    known = known_names()
    prefixes = {name.rsplit(".", i)[0] for name in known for i in range(name.count(".") + 1)}
    outer = {id(n.node) for n in tree.find_all(nodes.Getattr)}
    targets = {id(n) for loop in tree.find_all(nodes.For) for n in loop.target.find_all(nodes.Name)}
    problems = []
    for node in [*tree.find_all(nodes.Getattr), *tree.find_all(nodes.Name)]:
        if id(node) in outer or id(node) in targets:
            continue  # only the whole of a dotted name
        if isinstance(node, nodes.Name) and node.ctx != "load":
            continue
        name = _dotted(node)
        if name is None:
            continue
        head, _, rest = name.partition(".")
        if head in loops:
            rows = row_names(loops[head]) or set()
            if rest and rest not in rows:
                problems.append(Problem(where, f"champ inconnu « {name} » : une ligne de "
                                               f"{loops[head]} a {', '.join(sorted(rows))}"))
            continue
        if name not in known and name not in prefixes:
            problems.append(Problem(where, f"champ inconnu « {name} » (voir le catalogue "
                                           "des champs)"))
    return problems


def _check_images(archive: zipfile.ZipFile) -> list[Problem]:
    problems = []
    names = set(archive.namelist())
    for part in sorted(n for n in names if re.fullmatch(r"word/[^/]+\.xml", n)):
        root = etree.fromstring(archive.read(part))
        blips = list(root.iter(f"{{{A}}}blip"))
        if not blips:
            continue
        rels_name = f"word/_rels/{part.split('/')[-1]}.rels"
        targets: dict[str, str] = {}
        if rels_name in names:
            for rel in etree.fromstring(archive.read(rels_name)).iter(f"{{{PKG_RELS}}}Relationship"):
                targets[rel.get("Id", "")] = rel.get("Target", "")
        for number, blip in enumerate(blips, start=1):
            rel_id = blip.get(f"{{{R}}}embed") or blip.get(f"{{{R}}}link") or ""
            target = targets.get(rel_id)
            if target is None or (not target.startswith(("http", "file:"))
                                  and f"word/{target}" not in names):
                where = "document" if part == "word/document.xml" else part.split("/")[-1]
                problems.append(Problem(f"{where}, image {number}",
                                        "image introuvable dans le fichier (lien cassé) : "
                                        "insérez-la de nouveau"))
    return problems


def _try_merge(content: bytes) -> list[Problem]:
    from app.services.letters.engine import render

    try:
        render(content, example_data())
    except Exception as error:  # the engine's own verdict, whatever it is, makes it unusable
        return [Problem("Fusion d'essai", f"le modèle ne se fusionne pas : {error}")]
    return []
