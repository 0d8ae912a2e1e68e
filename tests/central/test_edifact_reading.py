"""EDIFACT INVOIC supplier invoices read: the hand-written fixtures, character sets and syntax
levels, rejections that name the segment, allowances, generated interchanges read back."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.models.ownership import TABLE_OWNER, Owner, undeclared
from central.edifact import generator
from central.edifact.envelope import check, messages
from central.edifact.invoic import InvoiceMessage, read_invoice
from central.edifact.syntax import ENCODINGS, Interchange, Rejected
from kernel import wire

FILES = Path(__file__).with_name("edifact_files")
EDF, FT = generator.EDF[0], generator.FRANCE_TELECOM[0]


def _invoices(path: Path) -> list[InvoiceMessage]:
    data = path.read_bytes()
    check(Interchange(io.BytesIO(data)))
    interchange = Interchange(io.BytesIO(data))
    return [read_invoice(interchange.parse(m.segments), "XOF") for m in messages(interchange)]


def test_an_edf_invoice_in_latin_1_with_an_escaped_apostrophe_maps_to_its_fields() -> None:
    [invoice] = _invoices(FILES / "edf_invoice_unoc.edi")
    assert invoice.number == "FAC-2026-0001" and not invoice.is_credit_note
    assert invoice.supplier_code == EDF and invoice.site == "14500000000001"
    assert (invoice.issued_on, invoice.period_start, invoice.period_end) == (
        date(2026, 12, 3), date(2026, 11, 1), date(2026, 11, 30))
    assert invoice.currency == "EUR"
    assert (invoice.amount_excl_vat, invoice.vat, invoice.total) == (
        Decimal("213.01"), Decimal("1.59") + Decimal("36.82"), Decimal("251.42"))
    second = invoice.lines[1]
    assert second.label == "Énergie d'été HP"
    assert (second.quantity, second.unit, second.unit_price) == (Decimal(1000), "KWH",
                                                                 Decimal("0.18410"))
    assert (second.vat_rate, second.vat, second.site) == (Decimal(20), Decimal("36.82"),
                                                          "14500000000001")


def test_a_telecom_credit_note_in_utf_8_with_a_decimal_comma_has_a_site_per_line() -> None:
    [note] = _invoices(FILES / "telecom_credit_note_unow.edi")
    assert note.is_credit_note and note.directory == "D01B"
    assert note.site is None and [line.site for line in note.lines] == ["0142000001",
                                                                         "0142000002"]
    assert note.lines[0].label == "Remboursement ligne coupée"
    assert (note.period_start, note.period_end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert (note.amount_excl_vat, note.vat, note.total) == (Decimal("21.86"), Decimal("4.37"),
                                                            Decimal("26.23"))


def test_a_truncated_interchange_is_refused_before_anything_is_read() -> None:
    with pytest.raises(Rejected, match="UNZ"):
        check(Interchange(io.BytesIO((FILES / "edf_truncated.edi").read_bytes())))


def test_a_wrong_unz_count_points_at_unz_and_says_what_was_expected() -> None:
    data = (FILES / "edf_invoice_unoc.edi").read_bytes().replace(b"UNZ+1+", b"UNZ+2+")
    with pytest.raises(Rejected) as caught:
        check(Interchange(io.BytesIO(data)))
    assert "(UNZ), élément 1, composant 1 : attendu 1 (messages de l'échange), trouvé « 2 »" \
        in str(caught.value)


@pytest.mark.parametrize("change, where", [
    ((b"UNT+29+1", b"UNT+28+1"), "segment 29 (UNT), élément 1 : attendu 29"),
    ((b"MOA+77:251.42", b"MOA+77:251.43"), "segment 28 (MOA), élément 1, composant 2 : "
     "attendu 251.42 (lignes 213.01 + TVA 38.41)"),
    ((b"MOA+79:213.01", b"MOA+79:213.00"), "segment 22 (MOA), élément 1, composant 2 : "
     "attendu 213.01 (somme des lignes)"),
    ((b"MOA+124:36.82", b"MOA+124:36.92"), "segment 27 (MOA), élément 1, composant 2 : attendu "
     "38.41 (TVA des lignes, à 0.02 près)"),
    ((b"BGM+380", b"BGM+999"), "segment 2 (BGM), élément 1, composant 1 : attendu le code 380 "
     "(facture) ou 381 (avoir), trouvé « 999 »"),
    ((b"MOA+203:28.91", b"MOA+203:28.9.1"), "segment 12 (MOA), élément 1, composant 2 : attendu "
     "un montant"),
    ((b"D:96A:UN", b"D:93A:UN"), "segment 1 (UNH), élément 2, composant 2 : attendu le "
     "répertoire D:96A:UN ou D:01B:UN"),
    ((b"DTM+137:20261203", b"DTM+137:20261303"), "segment 3 (DTM), élément 1, composant 2 : "
     "attendu une date valide"),
])
def test_a_bad_message_is_rejected_with_segment_position_and_expectation(
    change: tuple[bytes, bytes], where: str
) -> None:
    data = (FILES / "edf_invoice_unoc.edi").read_bytes().replace(*change)
    with pytest.raises(Rejected) as caught:
        _invoices_from(data)
    assert where in str(caught.value)


def _invoices_from(data: bytes) -> list[InvoiceMessage]:
    interchange = Interchange(io.BytesIO(data))
    return [read_invoice(interchange.parse(m.segments), "EUR") for m in messages(interchange)]


def test_bytes_outside_the_syntax_level_reject_the_segment_that_holds_them() -> None:
    data = (FILES / "edf_invoice_unoc.edi").read_bytes().replace(b"UNOC", b"UNOW")
    with pytest.raises(Rejected) as caught:
        _invoices_from(data)
    assert "segment 16 (IMD) : attendu des caractères UNOW (utf-8), trouvé « octet(s) c9" \
        in str(caught.value)


@pytest.mark.parametrize(("syntax", "label"), [
    ("UNOD", "Energia elektryczna Łódź"),  # ISO 8859-2
    ("UNOE", "Электроэнергия"),  # ISO 8859-5
    ("UNOF", "Ηλεκτρική ενέργεια"),  # ISO 8859-7
    ("UNOG", "Enerġija Ħamrun"),  # ISO 8859-3
    ("UNOH", "Elektroenerģija Ķekava"),  # ISO 8859-4
    ("UNOI", "كهرباء"),  # ISO 8859-6
    ("UNOJ", "חשמל"),  # ISO 8859-8
    ("UNOK", "Elektrik enerjisi Iğdır"),  # ISO 8859-9
])
def test_the_iso_8859_levels_d_to_k_are_read_in_their_own_character_set(
    syntax: str, label: str
) -> None:
    data = (FILES / "edf_invoice_unoc.edi").read_bytes().replace(b"UNOC", syntax.encode())
    data = data.replace("Énergie d?'été HP".encode("latin-1"), label.encode(ENCODINGS[syntax]))
    assert Interchange(io.BytesIO(data)).syntax == syntax
    [invoice] = _invoices_from(data)
    assert invoice.lines[1].label == label
    # The same bytes read as Latin-1 would not give the label: the level's set was used.
    assert label.encode(ENCODINGS[syntax]).decode("latin-1") != label


def test_a_level_with_code_extensions_or_unknown_is_refused_naming_the_levels_accepted() -> None:
    for syntax in (b"UNOX", b"UNOZ"):
        data = (FILES / "edf_invoice_unoc.edi").read_bytes().replace(b"UNOC", syntax)
        with pytest.raises(Rejected) as caught:
            Interchange(io.BytesIO(data))
        text = str(caught.value)
        assert f"trouvé « {syntax.decode()} »" in text and "UNOD" in text and "UNOK" in text


def test_generated_interchanges_of_both_levels_and_directories_read_back_balanced() -> None:
    sites = generator.world(sites_per_agency=2)
    for syntax in ("UNOC", "UNOW", "UNOA", "UNOD", "UNOE"):
        data = generator.interchange(sites, 12, syntax=syntax, una=syntax != "UNOA")
        check(Interchange(io.BytesIO(data)))
        invoices = _invoices_from(data)
        assert len(invoices) == 12
        assert {i.directory for i in invoices} == {"D96A", "D01B"}
        assert any(i.is_credit_note for i in invoices)
        for invoice in invoices:
            assert invoice.total == invoice.amount_excl_vat + invoice.vat


def test_supplier_invoices_are_central_owned_synced_tables() -> None:
    synced = {t.name for t in wire.synced_tables()}
    for name in ("supplier_invoice", "supplier_invoice_line"):
        assert TABLE_OWNER[name] is Owner.CENTRAL
        assert undeclared(wire.table(name), synced) == []



def test_a_header_allowance_becomes_a_negative_line_and_counts_in_the_totals() -> None:
    data = (FILES / "edf_invoice_unoc.edi").read_bytes()
    for old, new in ((b"CUX+2:EUR:4'\n", "CUX+2:EUR:4'\nALC+A++++:::Remise fidélité'\nMOA+8:10.00'\n"
                      "TAX+7+VAT+++:::20'\n".encode("latin-1")),
                     (b"MOA+79:213.01", b"MOA+79:203.01"), (b"MOA+125:213.01", b"MOA+125:203.01"),
                     (b"MOA+124:36.82", b"MOA+124:34.82"), (b"MOA+77:251.42", b"MOA+77:239.42"),
                     (b"UNT+29+1", b"UNT+32+1")):
        data = data.replace(old, new)
    [invoice] = _invoices_from(data)
    allowance = invoice.lines[0]
    assert (allowance.label, allowance.amount, allowance.vat_rate) == (
        "Remise fidélité", Decimal("-10.00"), Decimal(20))
    assert invoice.total == Decimal("239.42")
