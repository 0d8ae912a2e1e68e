"""A Core ``SELECT`` a batch runs on its session's psycopg connection.

The batch's reads went through SQLAlchemy's execution (a context, the cached compiled form
looked up, a result wrapping its rows) once a batch, whose rules read the rows by column name
with the columns' Python types (enums, decimals). Here the statement is compiled once, sent to
the driver as it is (prepared) and its rows converted by the same columns' result processors,
as SQLAlchemy converts them, into plain named tuples.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import CompoundSelect, Select
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.orm import Session

from central.vending.selling import driver

_DIALECT = PGDialect_psycopg()


class DriverSelect:
    def __init__(self, statement: Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]]
                 ) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=_DIALECT)
        self._sql = str(compiled)
        #: The statement's own bound values (its literals: an enum, a status), processed once.
        self._fixed = {name: _bound(compiled, name, value)
                       for name, value in compiled.params.items() if value is not None}
        self._given = {name: compiled.binds[name].type.bind_processor(_DIALECT)
                       for name in compiled.params if name not in self._fixed}
        columns = list(statement.selected_columns)
        self._row: Any = namedtuple("Row", [c.key for c in columns], rename=True)  # type: ignore[misc]
        self._processors: list[Callable[[Any], Any] | None] = [
            c.type.result_processor(_DIALECT, None) for c in columns]

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[Any]:
        values = dict(self._fixed)
        for name, process in self._given.items():
            value = params[name]
            values[name] = process(value) if process is not None else value
        found = driver(session).execute(self._sql, values, prepare=True).fetchall()
        make, processors = self._row._make, self._processors
        return [make([p(v) if p is not None else v for p, v in zip(processors, row,
                                                                      strict=True)])
                for row in found]


def _bound(compiled: Any, name: str, value: Any) -> Any:
    process = compiled.binds[name].type.bind_processor(_DIALECT)
    return process(value) if process is not None else value
