"""UN/EDIFACT syntax (ISO 9735) of an interchange read as a stream of bytes.

The service string advice (``UNA``) gives the separators; the syntax identifier of ``UNB``
(``UNOA``, ``UNOC``, ``UNOW``…) gives the character set, which pydifact leaves to its caller:
segments are cut on the bytes (the terminator is ASCII, so it is never inside a Latin-1 or UTF-8
character), then each segment is decoded on its own, so a bad byte costs one message, not the
file. The elements of a message are read by pydifact's parser.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

from pydifact.control import Characters
from pydifact.exceptions import EDISyntaxError, MissingImplementationWarning
from pydifact.parser import Parser
from pydifact.segments import Segment as PydifactSegment
from pydifact.segments import SegmentFactory

#: Character sets of the syntax levels accepted (``UNB`` syntax identifier, data element 0001):
#: levels A and B are ISO 646 (ASCII), C to K the parts of ISO 8859, W and Y ISO 10646 in UTF-8.
#: In all of them the bytes below 0x80 are ASCII, so separators are cut on the bytes. Refused:
#: UNOX (ISO 2022 code extensions switch character sets mid-segment) and private levels.
ENCODINGS = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "iso8859-1",
    "UNOD": "iso8859-2",  # Latin 2 (central Europe)
    "UNOE": "iso8859-5",  # Cyrillic
    "UNOF": "iso8859-7",  # Greek
    "UNOG": "iso8859-3",  # Latin 3
    "UNOH": "iso8859-4",  # Latin 4 (Baltic)
    "UNOI": "iso8859-6",  # Arabic
    "UNOJ": "iso8859-8",  # Hebrew
    "UNOK": "iso8859-9",  # Latin 5 (Turkish)
    "UNOW": "utf-8",
    "UNOY": "utf-8",
}
#: ISO 9735's default service characters when there is no ``UNA``.
DEFAULT_UNA = ":+.? '"
_CHUNK = 1 << 20
_TAG = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class Problem:
    """Why something is refused: where (segment number in its message, tag, element and
    component, counted from 1) and what was expected there."""

    segment: int
    tag: str
    expected: str
    element: int | None = None
    component: int | None = None
    found: str | None = None

    def __str__(self) -> str:
        where = f"segment {self.segment} ({_shown(self.tag) or '?'})"
        if self.element is not None:
            where += f", élément {self.element}"
        if self.component is not None:
            where += f", composant {self.component}"
        text = f"{where} : attendu {self.expected}"
        if self.found is not None:
            shown = _shown(self.found if len(self.found) <= 40 else self.found[:37] + "…")
            text += f", trouvé « {shown} »"
        return text


def _shown(text: str) -> str:
    """Control characters made visible (a report line stays one line)."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


class Rejected(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class RawSegment(NamedTuple):
    """A segment's bytes (terminator excluded) and its number in the interchange."""

    number: int
    data: bytes
    #: False for the tail of a file cut before its last terminator.
    closed: bool = True

    @property
    def tag(self) -> str:
        return _tag(self.data)


def _tag(data: bytes) -> str:
    return data[:3].decode("ascii", "replace")


class Segment:
    """A segment read: its tag, its data elements (each the tuple of its components) and its
    number in its message (``UNH`` is 1), as ``UNT`` counts them."""

    __slots__ = ("elements", "position", "tag")

    def __init__(self, tag: str, elements: tuple[tuple[str, ...], ...], position: int) -> None:
        self.tag = tag
        self.elements = elements
        self.position = position

    def __repr__(self) -> str:
        return f"Segment({self.tag!r}, {self.elements!r}, {self.position})"

    def value(self, element: int, component: int = 1) -> str:
        """The component (counted from 1), empty when absent."""
        try:
            return self.elements[element - 1][component - 1]
        except IndexError:
            return ""

    def problem(self, expected: str, element: int | None = None,
                component: int | None = None, *, show: bool = True) -> Problem:
        found = None
        if show and element is not None:
            found = self.value(element, component or 1)
        return Problem(self.position, self.tag, expected, element, component, found)


class _Factory(SegmentFactory):
    """pydifact's segments without its XML directory look-up (we validate INVOIC ourselves)."""

    @staticmethod
    def create_segment(name: str, *elements: object, validate: bool = True,
                       version: str = "", directory: str = "") -> PydifactSegment:
        if not isinstance(name, str) or not _TAG.fullmatch(name):
            raise EDISyntaxError(f"invalid segment tag {name!r}")
        return PydifactSegment(name, *elements)  # type: ignore[call-overload]


def _trimmed(components: tuple[str, ...]) -> tuple[str, ...]:
    if components[-1] or len(components) == 1:
        return components
    end = len(components)
    while end > 1 and components[end - 1] == "":
        end -= 1
    return components[:end]


def _released_joined(pieces: list[bytes], terminator: bytes, release: bytes) -> list[bytes]:
    """Pieces split on every terminator, those a released terminator cut joined again: a piece
    ending in an odd number of release characters ends with a released one (``??`` is a
    released ``?``). A plain split then this pass cost a third of a regular expression's cut."""
    joined: list[bytes] = []
    pending: bytes | None = None
    for piece in pieces:
        if pending is not None:
            piece = pending + terminator + piece
            pending = None
        if piece[-1:] == release and (len(piece) - len(piece.rstrip(release))) % 2:
            pending = piece
        else:
            joined.append(piece)
    if pending is not None:
        joined.append(pending)  # the text after the last terminator, cut by the chunk
    return joined


class Interchange:
    """One interchange file: its service characters and character set, its segments.

    ``reader``: ``fast`` (string splits, the default) or ``pydifact`` (its parser, the
    reference the fast reading is tested against)."""

    def __init__(self, stream: BinaryIO, reader: str = "fast") -> None:
        self.reader = reader
        self._stream = stream
        head = stream.read(_CHUNK)
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        if head.startswith(b"UNA"):
            if len(head) < 9:
                raise Rejected(Problem(0, "UNA", "6 caractères de service après UNA",
                                       found=head.decode("latin-1")))
            una = head[3:9].decode("latin-1")
            head = head[9:].lstrip(b"\r\n")
        else:
            una = DEFAULT_UNA
        if len(set(una[:2] + una[3] + una[5])) != 4 or any(
                c.isalnum() or not c.isprintable() for c in una):
            raise Rejected(Problem(0, "UNA", "des caractères de service distincts et non "
                                   "alphanumériques", found=una))
        self.characters = Characters.from_str(una)
        self.una = una
        self._head = head
        #: What followed the last segment terminator (set by ``pieces``): a cut file.
        self.tail = b""
        self.syntax = self._syntax_identifier(head)
        self.encoding = ENCODINGS[self.syntax]
        self._parser = Parser(factory=_Factory(), characters=self.characters)
        esc, data, comp = (re.escape(x) for x in (self.characters.escape_character,
                                                    self.characters.data_separator,
                                                    self.characters.component_separator))
        #: Segment tags already found well formed.
        self._tags: set[str] = set()
        self._tokens = re.compile(f"{esc}(.)|([{data}{comp}])|([^{esc}{data}{comp}]+)", re.S)

    def _syntax_identifier(self, head: bytes) -> str:
        c = self.characters
        if not head.startswith(b"UNB"):
            raise Rejected(Problem(1, head[:3].decode("latin-1"), "UNB (en-tête d'échange)"))
        rest = head[4:40].decode("latin-1")
        syntax = re.split(f"[{re.escape(c.component_separator + c.data_separator)}]", rest)[0]
        if syntax not in ENCODINGS:
            raise Rejected(Problem(1, "UNB", f"un niveau de syntaxe parmi "
                                   f"{', '.join(ENCODINGS)}", 1, 1, syntax))
        return syntax

    def raw_segments(self) -> Iterator[RawSegment]:
        """Every segment, numbered; the tail of a cut file last, not ``closed``."""
        number = 0
        for data in self.pieces():
            number += 1
            yield RawSegment(number, data)
        if self.tail:
            yield RawSegment(number + 1, self.tail, closed=False)

    def pieces(self) -> Iterator[bytes]:
        """Every terminated segment's bytes, streamed: only one chunk of the file is held at a
        time. What follows the last terminator is left in ``tail``."""
        c = self.characters
        release = c.escape_character.encode("latin-1")
        terminator = c.segment_terminator.encode("latin-1")
        buffer = self._head
        self.tail = b""
        while True:
            pieces = buffer.split(terminator)
            if release + terminator in buffer:
                pieces = _released_joined(pieces, terminator, release)
            rest = pieces.pop()
            if b"\n" in buffer or b"\r" in buffer:
                for data in pieces:
                    yield data.lstrip(b"\r\n")
            else:
                yield from pieces
            buffer = rest.lstrip(b"\r\n")
            more = self._stream.read(_CHUNK)
            if not more:
                break
            buffer += more
        self.tail = buffer.rstrip() if buffer.strip() else b""

    def decode(self, data: bytes, position: int) -> str:
        try:
            return data.decode(self.encoding)
        except UnicodeDecodeError as error:
            bad = data[error.start:error.end]
            raise Rejected(Problem(position, _tag(data),
                                   f"des caractères {self.syntax} ({self.encoding})",
                                   found=f"octet(s) {bad.hex(' ')} en position {error.start + 1}"
                                   )) from None

    def parse(self, raws: list[bytes], first_position: int = 1) -> list[Segment]:
        """The segments of a message (or service segments), numbered from ``first_position``."""
        if self.reader == "pydifact":
            texts = [self.decode(raw, first_position + i) for i, raw in enumerate(raws)]
            return [Segment(tag, elements, first_position + i) for i, (tag, elements)
                    in enumerate(self._parse_pydifact(raws, texts, first_position))]
        found = []
        c = self.characters
        encoding, split, tags = self.encoding, self._split, self._tags
        data, comp, esc = c.data_separator, c.component_separator, c.escape_character
        position = first_position
        for raw in raws:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                text = self.decode(raw, position)
            if esc in text or text[:1] == " ":
                tag, elements = split(raw, text, position)
            else:
                # _split's plain case inlined: the hot path of a large import.
                parts = text.split(data)
                tag = parts[0]
                if tag not in tags:
                    tag = self._checked_tag(raw, tag, text, position)
                elements = tuple([
                    (p,) if comp not in p
                    else _trimmed(t) if not (t := tuple(p.split(comp)))[-1] else t
                    for p in parts[1:]])
            found.append(Segment(tag, elements, position))
            position += 1
        return found

    def _checked_tag(self, raw: bytes, tag: str, text: str, position: int) -> str:
        if len(tag) != 3 or not (tag.isascii() and tag.isalpha() and tag.isupper()):
            raise self._invalid(raw, position, text)
        self._tags.add(tag)
        return tag

    def _invalid(self, raw: bytes, position: int, text: str) -> Rejected:
        return Rejected(Problem(position, _tag(raw), "un segment EDIFACT valide (étiquette de 3 "
                                "lettres majuscules, caractère d'échappement suivi d'un "
                                "caractère)", found=text))

    def _split(self, raw: bytes, text: str, position: int
               ) -> tuple[str, tuple[tuple[str, ...], ...]]:
        """One segment's tag and elements, as pydifact reads them (trailing empty components
        dropped), with string splits: pydifact's character-by-character tokenizer costs ten
        times more, and tests hold both readings equal."""
        c = self.characters
        if text[:1] == " ":
            text = text.lstrip(" ")
        if c.escape_character not in text:
            parts = text.split(c.data_separator)
            tag = parts[0]
            comp = c.component_separator
            elements = tuple([_trimmed(tuple(p.split(comp))) for p in parts[1:]])
        else:
            tag, elements = self._split_released(text)
        if len(tag) != 3 or not (tag.isascii() and tag.isalpha() and tag.isupper()):
            raise self._invalid(raw, position, text)
        return tag, elements

    def _split_released(self, text: str) -> tuple[str, tuple[tuple[str, ...], ...]]:
        c = self.characters
        elements: list[list[str]] = [[""]]
        for released, separator, plain in self._tokens.findall(text):
            if released == "\n":
                return "", ()  # pydifact refuses a line break after the release character
            if separator == c.data_separator:
                elements.append([""])
            elif separator:
                elements[-1].append("")
            else:
                elements[-1][-1] += released or plain
        if (len(text) - len(text.rstrip(c.escape_character))) % 2:
            return "", ()  # a release character releasing nothing
        head = elements[0]
        tag = head[0] if len(head) == 1 else ""
        return tag, tuple(_trimmed(tuple(e)) for e in elements[1:])

    def _parse_pydifact(self, raws: list[bytes], texts: list[str], first_position: int
                        ) -> list[tuple[str, tuple[tuple[str, ...], ...]]]:
        terminator = self.characters.segment_terminator
        try:
            parsed = self._read("".join(t + terminator for t in texts))
        except (EDISyntaxError, IndexError, ValueError):
            parsed = None
        if parsed is not None and len(parsed) == len(texts):
            return parsed
        for i, text in enumerate(texts):
            try:
                one = self._read(text + terminator)
            except (EDISyntaxError, IndexError, ValueError):
                one = []
            if len(one) != 1:
                raise self._invalid(raws[i], first_position + i, text)
        raise self._invalid(raws[0], first_position, texts[0])

    def _read(self, text: str) -> list[tuple[str, tuple[tuple[str, ...], ...]]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingImplementationWarning)
            warnings.simplefilter("ignore", SyntaxWarning)  # an empty segment: harmless
            found = []
            for segment in self._parser.parse(text, self.characters):
                elements = tuple(
                    tuple(e) if isinstance(e, list) else (e,) for e in segment.elements
                )
                found.append((segment.tag, elements))
            return found
