"""Merging a .docx template with data (docxtpl, a Jinja2 engine over python-docx), putting
letters together for printing, and converting to PDF with LibreOffice when it is installed."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template
from lxml import etree
from markupsafe import Markup, escape

from kernel.errors import BusinessError


def environment() -> Environment:
    """Unknown fields are errors at merge time too (the checker finds them first)."""
    return Environment(undefined=StrictUndefined, autoescape=False)


class _Compiled(Environment):
    """Keeps each part of a template compiled: docxtpl compiles the XML of every part for each
    letter, which was a third of a letter's time in a batch."""

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=True)
        self._compiled: dict[str, Template] = {}
        self._lock = threading.Lock()

    def from_string(self, source: Any, globals: Any = None,  # noqa: A002 - Jinja's name
                    template_class: Any = None) -> Template:
        if globals or template_class or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        with self._lock:
            compiled = self._compiled.get(source)
            if compiled is None:
                if len(self._compiled) > 200:
                    self._compiled.clear()
                compiled = self._compiled[source] = super().from_string(source)
            return compiled


def as_run(value: Any) -> Markup:
    """A ``{{r …}}`` field: docxtpl takes away the run that held it and expects a run (its
    ``RichText``); a plain value becomes one run, its line breaks kept."""
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    lines = [escape(line) for line in str(value).split("\n")]
    return Markup('<w:r><w:t xml:space="preserve">'
                  + '</w:t><w:br/><w:t xml:space="preserve">'.join(lines) + "</w:t></w:r>")


def as_paragraphs(value: Any, in_cell: bool = False) -> Markup:
    """A ``{{p …}}`` field: docxtpl takes away the paragraph that held it and expects
    paragraphs; a plain value gives one paragraph per line, none when it is empty (an empty
    one in a table cell, which must hold a paragraph)."""
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    made = "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>'
                   for line in str(value).split("\n") if line.strip())
    return Markup(made or ("<w:p/>" if in_cell else ""))


_FIELD = re.compile(r"\{\{(.*?)\}\}", re.S)
_STATEMENT = re.compile(r"\{%.*?%\}", re.S)
_LAST_TAG = re.compile(r"<(/?)w:(\w+)[^>]*>\s*")


def _outside_text(xml: str) -> str:
    """After docxtpl's preparation a ``{{r x}}`` or ``{{p x}}`` is a bare ``{{ x}}`` standing
    outside any run (or paragraph): such a field gets the filter that makes its run (or its
    paragraphs) of a plain value. A field inside a ``<w:t>`` is left alone."""
    out, last = [], 0
    for match in _FIELD.finditer(xml):
        before = xml[last:match.start()]
        out.append(before)
        last = match.end()
        tag = xml.rfind("<", 0, match.start())
        between = _STATEMENT.sub("", xml[tag:match.start()])  # {% if %} of a {%p if %}
        found = _LAST_TAG.fullmatch(between) if tag >= 0 else None
        if found is None:
            out.append(match.group())
            continue
        closing, name = found.group(1) == "/", found.group(2)
        if name == "t" and not closing:
            out.append(match.group())  # inside text: an ordinary field
        elif name in ("r", "pPr") and closing or name == "p" and not closing:
            out.append(f"{{{{ ({match.group(1).strip()})|docx_run }}}}")
        else:
            in_cell = name in ("tc", "tcPr") and (name == "tcPr") == closing
            out.append(f"{{{{ ({match.group(1).strip()})|docx_paragraphs({in_cell}) }}}}")
    out.append(xml[last:])
    return "".join(out)


_ENVIRONMENT = _Compiled()
_ENVIRONMENT.filters["docx_run"] = as_run
_ENVIRONMENT.filters["docx_paragraphs"] = as_paragraphs


def _template_class() -> Any:
    from docxtpl import DocxTemplate

    class _Template(DocxTemplate):
        """docxtpl's template whose ``{{r}}`` and ``{{p}}`` fields accept plain values."""

        def patch_xml(self, src_xml: str) -> str:
            return _outside_text(super().patch_xml(src_xml))

    return _Template


def render(template: bytes, data: dict[str, Any]) -> bytes:
    """The letter: ``template`` merged with ``data``."""
    return _prepared(template).render(data)


def render_with_docxtpl(template: bytes, data: dict[str, Any]) -> bytes:
    """docxtpl's whole path (open, merge, save): what ``_Prepared`` must give the same text as."""
    document = _template_class()(io.BytesIO(template))
    document.render(data, _ENVIRONMENT, autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


class _Prepared:
    """A template opened once for many letters. docxtpl's own steps merge each part (body,
    headers, footers); the other parts of the .docx are copied as they are, so a letter costs
    its merge and a zip, not opening and saving a Word document (most of a letter's time)."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.lock = threading.Lock()
        self.docx = _template_class()(io.BytesIO(content))
        self.docx.render_init()
        self.body = self.docx.patch_xml(self.docx.get_xml())
        document = self.docx.xml_to_string(self.docx.docx._element)
        start, end = document.index("<w:body"), document.rindex("</w:body>") + len("</w:body>")
        self.before, self.after = document[:start], document[end:]
        self.parts: dict[str, tuple[Any, str, str]] = {}
        for uri in (self.docx.HEADER_URI, self.docx.FOOTER_URI):
            for _key, part in self.docx.get_headers_footers(uri):
                xml = self.docx.get_part_xml(part)
                self.parts[str(part.partname).lstrip("/")] = (
                    part, self.docx.patch_xml(xml), self.docx.get_headers_footers_encoding(xml))
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            self.entries = [(info, archive.read(info)) for info in archive.infolist()]
        self.document_name = str(self.docx.docx.part.partname).lstrip("/")

    def render(self, data: dict[str, Any]) -> bytes:
        with self.lock:
            docx = self.docx
            docx.docx_ids_index = 1000
            body = docx.fix_tables(docx.render_xml_part(self.body, docx.docx._part, data,
                                                        _ENVIRONMENT))
            docx.fix_docpr_ids(body)
            merged = {self.document_name: (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + self.before
                + etree.tostring(body, encoding="unicode") + self.after).encode("utf-8")}
            for name, (part, source, encoding) in self.parts.items():
                merged[name] = docx.render_xml_part(source, part, data, _ENVIRONMENT).encode(
                    encoding)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=3) as archive:
            for info, raw in self.entries:
                archive.writestr(info.filename, merged.get(info.filename, raw))
        return out.getvalue()


_PREPARED: dict[str, _Prepared] = {}
_PREPARING = threading.Lock()


def _prepared(content: bytes) -> _Prepared:
    key = hashlib.sha256(content).hexdigest()
    with _PREPARING:
        prepared = _PREPARED.get(key)
        if prepared is None:
            if len(_PREPARED) > 20:
                _PREPARED.clear()
            prepared = _PREPARED[key] = _Prepared(content)
        return prepared


def merge_docx(letters: Sequence[bytes]) -> bytes:
    """One .docx holding every letter, each its own section (new page, its own header and
    footer: the letter's number is in the footer). The letters come from one template, so
    they share styles and numbering; each letter's header and footer parts are copied in.
    A linear merge: docxcompose's, which reconciles styles letter by letter, took minutes for a
    thousand letters."""
    with zipfile.ZipFile(io.BytesIO(letters[0])) as first:
        entries = {info.filename: first.read(info) for info in first.infolist()}
    types = etree.fromstring(entries["[Content_Types].xml"])
    rels = etree.fromstring(entries["word/_rels/document.xml.rels"])
    document = etree.fromstring(entries["word/document.xml"])
    body = document.find(f"{{{_W}}}body")
    assert body is not None
    for child in list(body):
        body.remove(child)
    for number, letter in enumerate(letters, start=1):
        with zipfile.ZipFile(io.BytesIO(letter)) as archive:
            own = etree.fromstring(archive.read("word/document.xml")).find(f"{{{_W}}}body")
            own_rels = {rel.get("Id"): rel for rel in
                        etree.fromstring(archive.read("word/_rels/document.xml.rels"))}
            section = _last_section(own)
            for reference in section:
                if reference.tag not in (f"{{{_W}}}headerReference", f"{{{_W}}}footerReference"):
                    continue
                rel = own_rels[reference.get(f"{{{_R}}}id")]
                kind = "header" if reference.tag.endswith("headerReference") else "footer"
                name = f"{kind}_l{number}_{len(rels)}.xml"
                entries[f"word/{name}"] = archive.read(f"word/{rel.get('Target')}")
                new_id = f"rIdLetter{number}_{len(rels)}"
                etree.SubElement(rels, f"{{{_PKG}}}Relationship", Id=new_id,
                                 Type=rel.get("Type"), Target=name)
                etree.SubElement(types, f"{{{_CT}}}Override", PartName=f"/word/{name}",
                                 ContentType=f"application/vnd.openxmlformats-officedocument."
                                             f"wordprocessingml.{kind}+xml")
                reference.set(f"{{{_R}}}id", new_id)
            own.remove(section)
            for child in list(own):
                body.append(child)
            if number < len(letters):
                paragraph = etree.SubElement(body, f"{{{_W}}}p")
                etree.SubElement(paragraph, f"{{{_W}}}pPr").append(section)
            else:
                body.append(section)
    entries["word/document.xml"] = etree.tostring(document, xml_declaration=True,
                                                  encoding="UTF-8", standalone=True)
    entries["word/_rels/document.xml.rels"] = etree.tostring(
        rels, xml_declaration=True, encoding="UTF-8", standalone=True)
    entries["[Content_Types].xml"] = etree.tostring(types, xml_declaration=True,
                                                    encoding="UTF-8", standalone=True)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=3) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"


def _last_section(body: Any) -> Any:
    section = body[-1] if len(body) else None
    if section is None or section.tag != f"{{{_W}}}sectPr":
        raise ValueError("document Word sans propriétés de section")
    return section


def office_program() -> str | None:
    """LibreOffice's command line program, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(docx: bytes, timeout: float = 600) -> bytes:
    """The PDF of a .docx, converted by LibreOffice (one conversion, in a private profile so an
    open LibreOffice window does not get in the way)."""
    return _convert(docx, "pdf", timeout)


def page_pictures(pdf: bytes, resolution: int = 80, timeout: float = 120) -> list[bytes] | None:
    """Each page of a PDF as a PNG picture (poppler's pdftoppm), or None without pdftoppm."""
    program = shutil.which("pdftoppm")
    if program is None:
        return None
    with tempfile.TemporaryDirectory(prefix="guichet-png-") as folder:
        source = Path(folder) / "courrier.pdf"
        source.write_bytes(pdf)
        subprocess.run([program, "-png", "-r", str(resolution), str(source),
                        str(Path(folder) / "page")], capture_output=True, timeout=timeout,
                       check=False)
        return [p.read_bytes() for p in sorted(Path(folder).glob("page*.png"))] or None


def _convert(docx: bytes, kind: str, timeout: float) -> bytes:
    program = office_program()
    if program is None:
        raise BusinessError("LibreOffice n'est pas installé : impossible de produire l'aperçu ou le PDF.")
    with tempfile.TemporaryDirectory(prefix="guichet-pdf-") as folder:
        work = Path(folder)
        source = work / "courrier.docx"
        source.write_bytes(docx)
        profile = (work / "profile").as_uri()
        result = subprocess.run(
            [program, f"-env:UserInstallation={profile}", "--headless", "--convert-to", kind,
             "--outdir", str(work), str(source)],
            capture_output=True, timeout=timeout, check=False)
        target = work / f"courrier.{kind}"
        if result.returncode != 0 or not target.exists():
            raise BusinessError(f"LibreOffice n'a pas pu convertir le courrier ({kind}) : "
                                + result.stderr.decode(errors="replace")[-300:])
        return target.read_bytes()
