"""customer search on PostgreSQL: the 2- and 3-character prefixes of every word as lexemes

A word's first letters ("ko", "kon") matched as a prefix make GIN gather every lexeme starting
with them into a bitmap before anything else (180,000 customers for "ko" at a million): as
lexemes of their own ("p2ko", "p3kon") they are single posting lists GIN can intersect by skipping.
This is what FTS5's ``prefix = '2 3 4'`` does on SQLite, where nothing changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 17:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOCUMENT = (
    "setweight(to_tsvector('simple', names), 'A')"
    " || setweight(to_tsvector('simple', accounts || ' ' || meters || ' ' || phones), 'B')"
    " || setweight(to_tsvector('simple', address), 'C')"
)
#: The same prefixes as ``search_index.word_prefixes`` computes for new rows.
PREFIXES = r"""coalesce((
    SELECT string_agg(DISTINCT 'p' || n || left(w, n), ' ')
    FROM regexp_split_to_table(
        names || ' ' || accounts || ' ' || meters || ' ' || phones || ' ' || address, '\s+'
    ) AS w, (VALUES (2), (3)) AS v(n)
    WHERE length(w) >= n), '')"""
FILL = f"UPDATE customer_search SET prefixes = {PREFIXES}"


def _document(expression: str) -> None:
    op.execute("ALTER TABLE customer_search DROP COLUMN document")
    op.execute(
        f"ALTER TABLE customer_search ADD COLUMN document tsvector GENERATED ALWAYS AS ({expression}) STORED"
    )
    op.execute("CREATE INDEX ix_customer_search_document ON customer_search USING gin (document)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("ALTER TABLE customer_search ADD COLUMN prefixes text NOT NULL DEFAULT ''")
    op.execute(FILL)
    _document(DOCUMENT + " || setweight(to_tsvector('simple', prefixes), 'D')")
    op.execute("ANALYZE customer_search")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    _document(DOCUMENT)
    op.execute("ALTER TABLE customer_search DROP COLUMN prefixes")
