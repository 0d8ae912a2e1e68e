"""Mutated interchanges never crash the reader: every message is either read (and balanced) or
rejected with a precise reason (segment, position, what was expected)."""

from __future__ import annotations

import io
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.edifact import generator
from central.edifact.envelope import check, messages
from central.edifact.invoic import read_invoice
from central.edifact.syntax import Interchange, Rejected

SITES = generator.world(agencies=("101",), sites_per_agency=2)
ORIGINALS = [generator.interchange(SITES, 3, syntax=syntax, seed=seed, reference=f"P{seed}")
             for seed, syntax in ((1, "UNOC"), (2, "UNOW"))]
PRECISE = re.compile(r"^segment \d+ \(.*\)(, élément \d+)?(, composant \d+)? : attendu .+")
SERVICE = list(b"+:'?.,\n") + [0xC3, 0xA9, 0xFF, 0x00]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(ORIGINALS)))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["replace", "delete", "insert", "drop_segment",
                                     "duplicate_segment", "truncate", "digit"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "replace":
            data[at] = draw(st.sampled_from(SERVICE + list(range(32, 127))))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 12))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif kind == "truncate":
            del data[at:]
        elif kind == "digit":
            digits = [i for i, b in enumerate(data) if chr(b).isdigit()]
            if digits:
                data[draw(st.sampled_from(digits))] = ord(str(draw(st.integers(0, 9))))
        else:
            segments = bytes(data).split(b"'\n")
            index = draw(st.integers(0, len(segments) - 1))
            if kind == "drop_segment":
                del segments[index]
            else:
                segments.insert(index, segments[index])
            data = bytearray(b"'\n".join(segments))
        if not data:
            break
    return bytes(data)


def _precise(error: Rejected) -> None:
    assert PRECISE.match(str(error.problem)), str(error.problem)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_interchange_is_read_or_rejected_precisely(data: bytes) -> None:
    try:
        check(Interchange(io.BytesIO(data)))
    except Rejected as error:
        _precise(error)
    try:
        interchange = Interchange(io.BytesIO(data))
    except Rejected as error:
        _precise(error)
        return
    for raw in messages(interchange):
        try:
            if raw.problem is not None:
                raise Rejected(raw.problem)
            invoice = read_invoice(interchange.parse(raw.segments), "EUR")
        except Rejected as error:
            _precise(error)
            continue
        assert invoice.total == invoice.amount_excl_vat + invoice.vat
        assert invoice.lines and all(line.site for line in invoice.lines)


def _read_all(data: bytes, reader: str) -> list[object]:
    interchange = Interchange(io.BytesIO(data), reader=reader)
    found: list[object] = []
    for raw in messages(interchange):
        try:
            found.append([(s.tag, s.elements, s.position)
                          for s in interchange.parse(raw.segments)])
        except Rejected as error:
            found.append(error.problem.segment)
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_the_fast_reading_finds_what_pydifact_finds(data: bytes) -> None:
    try:
        reference = _read_all(data, "pydifact")
    except Rejected:
        return
    fast = _read_all(data, "fast")
    for theirs, ours in zip(reference, fast, strict=True):
        if isinstance(theirs, list):
            assert ours == theirs


def test_the_fixtures_read_the_same_with_pydifact() -> None:
    from pathlib import Path

    for path in sorted(Path(__file__).with_name("edifact_files").glob("*.edi")):
        data = path.read_bytes()
        assert _read_all(data, "fast") == _read_all(data, "pydifact"), path.name


def _cut_one_by_one(text: bytes) -> tuple[list[bytes], bytes]:
    """The reference cut: byte by byte, a ``?`` releases the next byte whatever it is."""
    pieces, current, released = [], bytearray(), False
    for byte in text:
        if not released and byte == ord("'"):
            pieces.append(bytes(current).lstrip(b"\r\n"))
            current.clear()
            continue
        released = not released and byte == ord("?")
        current.append(byte)
    return pieces, bytes(current).lstrip(b"\r\n")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"A", b"B+C", b"?", b"'", b"??", b"?'", b"\n"]), max_size=60),
       st.integers(1, 9))
def test_segments_are_cut_alike_whatever_the_chunk_boundaries(parts: list[bytes],
                                                              chunk: int) -> None:
    """Released terminators and release characters cut across chunks of any size (the import
    reads 1 MB at a time) are joined back: the segments are those of a byte-by-byte cut."""
    body = b"".join(parts)
    head = b"UNA:+.? 'UNB+UNOC:3+S+R+261201:0630+1'"
    expected, tail = _cut_one_by_one(body)

    class Trickle(io.BytesIO):
        """The head at the first read, then ``chunk`` bytes a read."""

        def read(self, size: int | None = -1) -> bytes:
            return super().read(len(head) + 1 if self.tell() == 0 else chunk)

    interchange = Interchange(Trickle(head + body))
    assert list(interchange.pieces()) == [head[9:-1], *expected]
    assert interchange.tail == (tail.rstrip() if tail.strip() else b"")
