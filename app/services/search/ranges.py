"""Words on PostgreSQL: the customers found by ranges of the word table (word, customer), read
in the B-tree's order and stopped at the cap, where a GIN bitmap of every customer with a word
start ("ko": 183,000 at a million) is built whole before any ``LIMIT``.

One range drives: that of the word typed with the fewest entries (counted on the index, up to
``COUNTED``), or for a group of alternatives ("n diaye": "ndiaye" or "diaye") one range per
alternative. Each entry's customer row is then checked against the whole query by the full-text
``document`` it always was matched with: the customers found are exactly those of the GIN index.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.models.search_index import TABLE, WORDS
from app.services.search.plan import Plan

#: Entries of each word's range counted to choose the one that drives: past this many, the
#: longest word typed is taken as the narrower.
COUNTED = 2000

_COUNT = f"(SELECT count(*) FROM (SELECT FROM {WORDS} WHERE word >= %s AND word < %s LIMIT {COUNTED}) c)"
_FOUND = (
    f"SELECT w.word, w.customer_id FROM {WORDS} w JOIN {TABLE} s ON s.customer_id = w.customer_id "
    "WHERE w.word >= %s AND w.word < %s {after}"
    "AND s.document @@ to_tsquery('simple', %s) ORDER BY w.word, w.customer_id LIMIT %s"
)
_FIRST = _FOUND.format(after="")
_NEXT = _FOUND.format(after="AND (w.word, w.customer_id) > (%s, %s) ")


def _bounds(plan: Plan, word: str) -> tuple[str, str]:
    """The entries a word typed stands for: those starting with it, or (a one-letter word
    followed by another) that word alone."""
    if word in plan.exact:
        return word, word + "\x01"
    return word, word[:-1] + chr(ord(word[-1]) + 1)


def _drivers(raw: Any, plan: Plan) -> list[str]:
    """The words whose ranges are read: for the group with the fewest entries, the narrowest
    word of each of its alternatives."""
    terms = list(plan.terms)
    if len(terms) == 1:
        return terms
    statement = "SELECT " + ", ".join([_COUNT] * len(terms))
    counts = raw.execute(statement, [b for t in terms for b in _bounds(plan, t)]).fetchone()
    entries = dict(zip(terms, counts, strict=True))

    def narrowest(option: tuple[str, ...]) -> str:
        return min(option, key=lambda word: (entries[word], -len(word)))

    def cost(group: tuple[tuple[str, ...], ...]) -> tuple[int, int]:
        chosen = [narrowest(option) for option in group]
        return sum(entries[w] for w in chosen), -min(len(w) for w in chosen)

    best = min(plan.groups, key=cost)
    return list(dict.fromkeys(narrowest(option) for option in best))


def word_range_ids(session: Session, plan: Plan, tsquery: str, cap: int) -> list[uuid.UUID]:
    """The first ``cap + 1`` customers (fewer: all of them) matching ``tsquery``, in the word
    table's order. Plain driver cursor: a statement through SQLAlchemy costs more than its rows."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    found: dict[uuid.UUID, None] = {}
    for word in _drivers(raw, plan):
        low, high = _bounds(plan, word)
        rows = raw.execute(_FIRST, (low, high, tsquery, cap + 1)).fetchall()
        while True:
            found.update(dict.fromkeys(customer_id for _word, customer_id in rows))
            if len(found) > cap or len(rows) <= cap:
                break
            last_word, last_customer = rows[-1]
            rows = raw.execute(
                _NEXT, (low, high, last_word, last_customer, tsquery, cap + 1)
            ).fetchall()
        if len(found) > cap:
            break
    return list(found)[: cap + 1]
