"""Words on PostgreSQL: the customers found by ranges of the word table (word, customer), read
in the B-tree's order and stopped at the cap, where a GIN bitmap of every customer with a word
start ("ko": 183,000 at a million) is built whole before any ``LIMIT``.

One range drives: that of the word typed with the fewest entries (counted on the index, up to
``COUNTED``), or for a group of alternatives ("n diaye": "ndiaye" or "diaye") one range per
alternative. Each entry's customer row is then checked against the whole query by the full-text
``document`` it always was matched with: the customers found are exactly those of the GIN index.
When several words are typed and each has ``COUNTED`` entries or more, checking rows one by one
costs more than intersecting lists: the GIN index does it, as before (a street, its number and
its commune: 20–45 ms of CPU at a million, against 165–230 ms read as ranges).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import Connection

from app.models.search_index import TABLE, WORD_LENGTH, WORDS
from app.services.search.plan import Plan

#: Entries of each word's range counted to choose the one that drives: past this many, the
#: longest word typed is taken as the narrower.
COUNTED = 500

_COUNT = f"(SELECT count(*) FROM (SELECT FROM {WORDS} WHERE word >= %s AND word < %s LIMIT {COUNTED}) c)"
#: The first and last word of a range (two descents of the index): the same when one word only
#: starts with what was typed.
_FIRST_WORD = f"(SELECT min(word) FROM {WORDS} WHERE word >= %s AND word < %s)"
_LAST_WORD = f"(SELECT max(word) FROM {WORDS} WHERE word >= %s AND word < %s)"
#: Each row checked is ranked on the way (``ts_rank``, as the page's order asks): the ranking then
#: reads no row a second time.
_FOUND = (
    f"SELECT w.word, w.customer_id, ts_rank(s.document, to_tsquery('simple', %s)) "
    f"FROM {WORDS} w JOIN {TABLE} s ON s.customer_id = w.customer_id "
    "WHERE w.word >= %s AND w.word < %s {after}"
    "AND s.document @@ to_tsquery('simple', %s) ORDER BY w.word, w.customer_id LIMIT %s"
)
_FIRST = _FOUND.format(after="")
_NEXT = _FOUND.format(after="AND (w.word, w.customer_id) > (%s, %s) ")
#: One word typed: its range is the answer, read on the index alone. The word table holds every
#: lexeme of a row's ``document`` and every word its prefix lexemes come from, so an entry in the
#: range is a row the ``document`` matches: checking each entry's row read up to 501 rows of
#: ``customer_search`` scattered over its 900 MB ("is": 2,000 buffers, 550 of them from disk)
#: for what 3 pages of the index already said.
_ALONE = (
    f"SELECT word, customer_id FROM {WORDS} WHERE word >= %s AND word < %s {{after}}"
    "ORDER BY word, customer_id LIMIT %s"
)
_ALONE_FIRST = _ALONE.format(after="")
_ALONE_NEXT = _ALONE.format(after="AND (word, customer_id) > (%s, %s) ")


def _bounds(plan: Plan, word: str) -> tuple[str, str]:
    """The entries a word typed stands for: those starting with it, or (a one-letter word
    followed by another) that word alone."""
    if word in plan.exact:
        return word, word + "\x01"
    return word, word[:-1] + chr(ord(word[-1]) + 1)


class _Survey(NamedTuple):
    #: The words whose ranges are read.
    drivers: list[str]
    #: Every driving range holds ``COUNTED`` entries or more (and more than one word is typed).
    large: bool
    #: The words typed (4 characters or more) that only one word of the index starts with.
    only: dict[str, str]


def _survey(raw: Any, plan: Plan) -> _Survey:
    """For the group with the fewest entries, the narrowest word of each of its alternatives."""
    terms = list(plan.terms)
    if len(terms) == 1:
        return _Survey(terms, False, {})
    statement = "SELECT " + ", ".join([f"{_COUNT}, {_FIRST_WORD}, {_LAST_WORD}"] * len(terms))
    values = raw.execute(statement, [b for t in terms for b in _bounds(plan, t) * 3]).fetchone()
    entries = dict(zip(terms, values[0::3], strict=True))
    only = {
        term: first
        for term, first, last in zip(terms, values[1::3], values[2::3], strict=True)
        if len(term) >= 4 and term not in plan.exact and first is not None and first == last
        and len(first) < WORD_LENGTH
    }

    def narrowest(option: tuple[str, ...]) -> str:
        return min(option, key=lambda word: (entries[word], -len(word)))

    def cost(group: tuple[tuple[str, ...], ...]) -> tuple[int, int]:
        chosen = [narrowest(option) for option in group]
        return sum(entries[w] for w in chosen), -min(len(w) for w in chosen)

    best = list(dict.fromkeys(narrowest(option) for option in min(plan.groups, key=cost)))
    return _Survey(best, all(entries[w] >= COUNTED for w in best), only)


#: Several words each with many entries ("82 port plateau": 2,500, 115,000 and 84,000 at a
#: million): the GIN index intersects their lists without reading a row, where a range would
#: check each of thousands of rows.
LARGE_IN_GIN = True
_GIN = (
    f"SELECT customer_id, ts_rank(document, to_tsquery('simple', %s)) FROM {TABLE} "
    "WHERE document @@ to_tsquery('simple', %s) LIMIT %s"
)


def word_range_ids(
    connection: Connection, plan: Plan, tsquery: str, cap: int, exact: Callable[[dict[str, str]], str]
) -> dict[uuid.UUID, float | None]:
    """The first ``cap + 1`` customers (fewer: all of them) matching ``tsquery``, in the word
    table's order (or the GIN index's: ``exact`` gives the same query with some prefixes as the
    one word they start), each with its ``ts_rank`` for ``tsquery`` where its row was read
    (``None``: one word typed, no row read). Plain driver cursor: a statement through SQLAlchemy
    costs more than its rows."""
    raw = connection.connection.driver_connection
    assert raw is not None
    survey = _survey(raw, plan)
    if survey.large and LARGE_IN_GIN:
        # One round trip (each costs a scheduling wait on a busy machine); a transaction of its
        # own where the search's connection has none (a savepoint in one).
        with raw.pipeline(), raw.transaction():
            raw.execute("SELECT set_config('enable_bitmapscan', 'on', true)")
            cursor = raw.execute(_GIN, (tsquery, exact(survey.only), cap + 1))
            raw.execute("SELECT set_config('enable_bitmapscan', 'off', true)")
        return dict(cursor.fetchall())
    alone = len(plan.terms) == 1
    ranked, checked = ((), ()) if alone else ((tsquery,), (tsquery,))
    first, following = (_ALONE_FIRST, _ALONE_NEXT) if alone else (_FIRST, _NEXT)
    found: dict[uuid.UUID, float | None] = {}
    for word in survey.drivers:
        low, high = _bounds(plan, word)
        rows = raw.execute(first, (*ranked, low, high, *checked, cap + 1)).fetchall()
        while True:
            for row in rows:
                found.setdefault(row[1], None if alone else row[2])
            if len(found) > cap or len(rows) <= cap:
                break
            last_word, last_customer = rows[-1][:2]
            rows = raw.execute(
                following, (*ranked, low, high, last_word, last_customer, *checked, cap + 1)
            ).fetchall()
        if len(found) > cap:
            break
    return dict(list(found.items())[: cap + 1])
