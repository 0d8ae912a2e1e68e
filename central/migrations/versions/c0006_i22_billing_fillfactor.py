"""Room on contract and account pages for the billing run's updates (fill factor 50)

A billing run updates every billed contract (``billed_until``) and its account (balance) once a
month. None of the updated columns is indexed, so PostgreSQL can write the new version on the
same page without touching any of the tables' indexes (a HOT update) — when the page has room.
Packed pages (fill factor 100, the default) have none: every update then goes to another page
and adds an entry to each index (six on ``contract``, four on ``account``). Since every row of
a page is updated in the same run, a page needs room for a new version of each of its rows:
half of it (at 80, measured, only 26–30 % of the updates were HOT). That is the shape such a
table reaches anyway once vacuum has freed the previous month's versions; rows written from
now on start with it. PostgreSQL only: SQLite has no such setting.

Revision ID: c0006
Revises: c0005
Create Date: 2026-12-06 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c0006"
down_revision: str | None = "c0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("contract", "account")
FILLFACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f'ALTER TABLE "{table}" SET (fillfactor = {FILLFACTOR})')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f'ALTER TABLE "{table}" RESET (fillfactor)')
