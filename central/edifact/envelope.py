"""The envelope of an interchange: ``UNB`` … messages (``UNH`` … ``UNT``) … ``UNZ``.

Read twice: :func:`check` runs over the whole file first (service segments only, no message
content), so a truncated or miscounted interchange is refused before anything is written; then
:func:`messages` hands out each message's segments for the mapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from central.edifact.syntax import Interchange, Problem, RawSegment, Rejected, Segment


@dataclass(frozen=True)
class Header:
    syntax: str
    syntax_version: str
    sender: str
    recipient: str
    reference: str
    prepared: str


@dataclass(frozen=True)
class RawMessage:
    """A message's segments as cut, and its rank in the interchange (from 1)."""

    rank: int
    segments: list[bytes]
    #: Why it cannot even be handed to the mapping (no ``UNT`` before the next ``UNH``…).
    problem: Problem | None = None


def header(interchange: Interchange, raw: RawSegment) -> Header:
    unb = interchange.parse([raw.data])[0]
    if unb.tag != "UNB":
        raise Rejected(unb.problem("UNB (en-tête d'échange)"))
    for element, component, what in ((2, 1, "l'identification de l'émetteur"),
                                     (3, 1, "l'identification du destinataire"),
                                     (5, 1, "la référence de contrôle de l'échange")):
        if not unb.value(element, component).strip():
            raise Rejected(unb.problem(what, element, component))
    reference = unb.value(5)
    if len(reference) > 14:
        raise Rejected(unb.problem("une référence d'échange de 14 caractères au plus", 5, 1))
    prepared = f"{unb.value(4, 1)}{unb.value(4, 2)}"
    for fmt in ("%y%m%d%H%M", "%Y%m%d%H%M"):
        try:
            datetime.strptime(prepared, fmt)
            break
        except ValueError:
            continue
    else:
        raise Rejected(unb.problem("une date et une heure de préparation (AAMMJJ:HHMM)", 4))
    return Header(unb.value(1, 1), unb.value(1, 2), unb.value(2, 1).strip(),
                  unb.value(3, 1).strip(), reference, prepared)


def _trailer(interchange: Interchange, raw: RawSegment, number: int) -> Segment:
    return interchange.parse([raw.data], number)[0]


def check(interchange: Interchange) -> Header:
    """The interchange's header once its envelope holds: ``UNZ`` last, its count and
    reference right, every segment inside a message. ``Rejected`` says where it does not."""
    pieces = interchange.pieces()
    first = next(pieces, None)
    if first is None:
        if interchange.tail:
            first = interchange.tail
        else:
            raise Rejected(Problem(1, "", "UNB (en-tête d'échange)", found="fichier vide"))
    head = header(interchange, RawSegment(1, first))
    messages = groups = 0
    in_message = False
    plus = interchange.characters.data_separator.encode("latin-1")
    unh, unt, ung, une = (t + plus for t in (b"UNH", b"UNT", b"UNG", b"UNE"))
    unz: RawSegment | None = None
    number = 1
    for data in pieces:
        number += 1
        if unz is not None:
            raise Rejected(Problem(number, RawSegment(number, data).tag,
                                   "la fin du fichier après UNZ"))
        tag = data[:4]
        if tag == unh:
            messages += 1
            in_message = True
        elif tag == unt:
            in_message = False
        elif tag[:3] == b"UNZ":
            unz = RawSegment(number, data)
        elif tag == ung:
            groups += 1
        elif tag == une or in_message:
            continue
        else:
            raise Rejected(Problem(number, RawSegment(number, data).tag,
                                   "UNH (début de message) ou UNZ"))
    if interchange.tail:
        tail = RawSegment(number + 1, interchange.tail, closed=False)
        raise Rejected(Problem(tail.number, tail.tag, "le terminateur de segment « "
                               f"{interchange.characters.segment_terminator} » "
                               "(fichier tronqué ?)", found=tail.data[:40].decode("latin-1")))
    if unz is None:
        raise Rejected(Problem(0, "UNZ", "UNZ (fin d'échange) : fichier tronqué ?"))
    trailer = _trailer(interchange, unz, unz.number)
    counted = groups or messages
    if trailer.value(1) != str(counted):
        raise Rejected(Problem(unz.number, "UNZ",
                               f"{counted} ({'groupes' if groups else 'messages'} "
                               "de l'échange)", 1, 1, trailer.value(1)))
    if trailer.value(2) != head.reference:
        raise Rejected(Problem(unz.number, "UNZ", f"la référence de l'UNB « {head.reference} »",
                               2, 1, trailer.value(2)))
    return head


def messages(interchange: Interchange) -> Iterator[RawMessage]:
    """Each message's segments, from ``UNH`` to its ``UNT`` (after :func:`check`)."""
    current: list[bytes] | None = None
    rank = 0
    plus = interchange.characters.data_separator.encode("latin-1")
    unh, unt = b"UNH" + plus, b"UNT" + plus
    for raw in interchange.pieces():
        tag = raw[:4]
        if tag == unh:
            if current is not None:
                yield RawMessage(rank, current, Problem(len(current) + 1, "UNH",
                                                        "UNT (fin du message) avant le "
                                                        "message suivant"))
            rank += 1
            current = [raw]
        elif current is not None:
            current.append(raw)
            if tag == unt:
                yield RawMessage(rank, current)
                current = None
    if current is not None:
        yield RawMessage(rank, current, Problem(len(current), RawSegment(0, current[-1]).tag,
                                                "UNT (fin du message) avant UNZ"))
