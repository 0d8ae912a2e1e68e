"""works quotes: the prospect's names as the list's search types them; the indexes the
list's names search reads (a customer's quotes, a prospect's)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 23:00:00
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MARKS = re.compile(r"[\u0300-\u036f]")
_SEPARATORS = re.compile(r"[^0-9a-z]+")
#: Elided letters and name particles, glued to the word after them.
_GLUED = frozenset({"n", "m", "d", "l", "ben", "ould", "ibn", "bin", "el", "ag", "mac"})


def _key(last_name: str, first_name: str) -> str:
    """``app.models.works.prospect_key`` as it is at this revision (a revision never imports the
    code that moves on after it)."""
    folded = _MARKS.sub("", unicodedata.normalize("NFKD", f"{last_name} {first_name}".lower()))
    words = " ".join(_SEPARATORS.split(folded)).split()
    glued: list[str] = []
    index = 0
    while index < len(words):
        if words[index] in _GLUED and index + 1 < len(words):
            glued.append(words[index] + words[index + 1])
            index += 2
        else:
            glued.append(words[index])
            index += 1
    return " ".join(glued)[:200]


def upgrade() -> None:
    with op.batch_alter_table("works_quote", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prospect_key", sa.String(length=200), nullable=False,
                                      server_default=""))
        batch_op.create_index("ix_works_quote_customer_list",
                              ["customer_id", "issued_on", "number", "total_minor"], unique=False)
        batch_op.create_index("ix_works_quote_prospect_key",
                              ["prospect_key", "issued_on", "number", "total_minor"], unique=False,
                              postgresql_ops={"prospect_key": "text_pattern_ops"})
    connection = op.get_bind()
    quotes = sa.table("works_quote", sa.column("id", sa.Uuid()),
                      sa.column("prospect_last_name", sa.String()),
                      sa.column("prospect_first_name", sa.String()),
                      sa.column("prospect_key", sa.String()))
    rows = connection.execute(sa.select(quotes.c.id, quotes.c.prospect_last_name,
                                        quotes.c.prospect_first_name)
                              .where(quotes.c.prospect_last_name != "")).all()
    for quote_id, last_name, first_name in rows:
        connection.execute(quotes.update().where(quotes.c.id == quote_id)
                           .values(prospect_key=_key(last_name, first_name or "")))


def downgrade() -> None:
    with op.batch_alter_table("works_quote", schema=None) as batch_op:
        batch_op.drop_index("ix_works_quote_prospect_key")
        batch_op.drop_index("ix_works_quote_customer_list")
        batch_op.drop_column("prospect_key")
