"""customer search index (FTS5 on SQLite, tsvector + GIN on PostgreSQL)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE = (
    "CREATE VIRTUAL TABLE customer_search USING fts5("
    "customer_id UNINDEXED, names, accounts, meters, phones, address, "
    "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4')"
)
POSTGRES = (
    """CREATE TABLE customer_search (
        customer_id uuid PRIMARY KEY,
        names text NOT NULL, accounts text NOT NULL, meters text NOT NULL,
        phones text NOT NULL, address text NOT NULL,
        document tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('simple', names), 'A')
            || setweight(to_tsvector('simple', accounts || ' ' || meters || ' ' || phones), 'B')
            || setweight(to_tsvector('simple', address), 'C')) STORED)""",
    "CREATE INDEX ix_customer_search_document ON customer_search USING gin (document)",
)


#: FTS5 finds rows by rowid only; this keeps each customer's rowid so an update is a lookup.
SQLITE_KEYS = (
    "CREATE TABLE customer_search_key ("
    "doc_rowid INTEGER PRIMARY KEY, customer_id CHAR(32) NOT NULL UNIQUE)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE)
        op.execute(SQLITE_KEYS)
    else:
        for statement in POSTGRES:
            op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE customer_search")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE customer_search_key")
