"""What the agent typed, read as a plan: words (names, addresses), a customer's number (account,
phone, meter), a meter serial, or the number of a document."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.models.search_index import ELIDED, PARTICLES, normalise
from kernel.identifiers import digits_only, normalise_phone

_HUMAN_NUMBER = re.compile(r"^(DV|DI|FT|FC|CR|RC|RP|AB)\d*(-\d*)*$")
_DIGITS_ONLY = re.compile(r"^[\d\s+().\-/]+$")
_SERIAL = re.compile(r"^(EA|EL)\d*$")
#: Words in so many addresses that they cannot narrow a search (and would make the index merge
#: hundreds of thousands of entries): left out whenever another word is typed.
_STOP_WORDS = frozenset(
    {
        "de",
        "des",
        "du",
        "la",
        "le",
        "les",
        "et",
        "en",
        "au",
        "aux",
        "sur",
        "rue",
        "avenue",
        "boulevard",
        "bd",
        "allee",
        "impasse",
        "chemin",
        "place",
        "cite",
        "villa",
        "lot",
        "ilot",
        "appartement",
        "apt",
        "residence",
        "immeuble",
        "bat",
        # "12 bis", "208 ter": a fifth of all house numbers
        "bis",
        "ter",
    }
)



@dataclass(frozen=True)
class Plan:
    kind: str  # "words", "digits", "number", "serial", "empty"
    terms: tuple[str, ...]
    #: Words: every group must match; a group is alternatives, each a tuple of word prefixes that
    #: must all match ("n diaye" → ("ndiaye",) or ("diaye",); "ben said" → ("ben", "said") or
    #: ("bensaid",)).
    groups: tuple[tuple[tuple[str, ...], ...], ...] = ()
    #: Digits: the phone numbers' ends to look for, read backwards (at least ``PHONE_END`` digits).
    phone_end: str = ""
    #: Words matched whole, not as prefixes.
    exact: frozenset[str] = frozenset()


#: Customers often give only the last digits of their number: from this many on, they are looked
#: for at the end of phone numbers too.
PHONE_END = 4


def _word_groups(words: list[str]) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """Elided letters and particles, written apart or glued, match both ways: the index holds the
    glued form of every stored pair, the query looks for either."""
    groups: list[tuple[tuple[str, ...], ...]] = []
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else None
        if following is not None and word in ELIDED:
            # "n diaye" is "ndiaye" (stored glued) or "diaye" (as before); a lone letter after it
            # is a name being typed: glued only ("n d" → "nd", not every word in "d").
            single = len(following) < 2
            groups.append(((word + following,),) if single else ((word + following,), (following,)))
            index += 2
        elif following is not None and word in PARTICLES:
            groups.append(((word, following), (word + following,)))
            index += 2
        else:
            groups.append(((word,),))
            index += 1
    return tuple(dict.fromkeys(groups))


def plan_query(query: str) -> Plan:
    stripped = query.strip()
    if not stripped:
        return Plan("empty", ())
    upper = stripped.upper().replace(" ", "")
    if _HUMAN_NUMBER.match(upper) and len(upper) >= 4:
        return Plan("number", (upper,))
    if _SERIAL.match(upper) and len(upper) >= 3:
        return Plan("serial", (upper,))
    if _DIGITS_ONLY.match(stripped):
        digits = digits_only(stripped)
        if len(digits) < 2:
            return Plan("empty", ())
        variants = dict.fromkeys((digits, normalise_phone(digits)))
        end = digits[::-1] if len(digits) >= PHONE_END else ""
        return Plan("digits", tuple(variants), phone_end=end)
    words = [w for w in normalise(stripped).split() if w]
    last = len(words) - 1

    def kept(index: int, word: str) -> bool:
        if word in _STOP_WORDS:
            return False
        if index == last and len(word) >= 4 and any(s.startswith(word) for s in _STOP_WORDS):
            return False  # "impas", "boulev": a word that narrows nothing, still being typed
        if len(word) >= 2 or index < last:
            return True  # a one-character word followed by another is complete: "4 bis", "n diaye"
        return index > 0 and words[index - 1] in ELIDED  # "n d": the name after "n" being typed

    complete = {w for i, w in enumerate(words) if len(w) == 1 and i < last}
    meaningful = [w for i, w in enumerate(words) if kept(i, w)]
    if meaningful:
        # A letter being typed or "de", "la"… would match half the base and make the index scan
        # it: they are left out while other words narrow the search.
        words = meaningful
    elif len(words) > 1 and len(words[-1]) == 1:
        words = words[:-1]
    if not words:
        return Plan("empty", ())
    groups = _word_groups(words)
    terms = tuple(dict.fromkeys(w for group in groups for option in group for w in option))
    # A complete one-character word is that word, not every word starting with it (which the
    # index would have to gather one by one: it keeps prefixes of 2 to 4 characters only).
    exact = frozenset(t for t in terms if t in complete)
    return Plan("words", terms, groups, exact=exact)

