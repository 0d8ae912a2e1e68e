"""Central's commits name the one agency they belong to, so a download skips the others'

On a night of forty agencies each billing run writes its agency's invoices in a few dozen
commits of about 10,000 journal entries. An agency's download walked central's commits in
order and read each one's journal to find its own entries: the billing commits of every agency
billed before it, page after page. ``sync_commit.agency_id`` is the agency when every entry of
the commit is that agency's (empty otherwise, and for the commits numbered before this
revision: those are read by every download, as before); ``ix_sync_commit_agency`` finds an
agency's commits and the shared ones in commit order.

Revision ID: c0010
Revises: c0009
Create Date: 2026-12-06 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0010"
down_revision: str | None = "c0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_sync_commit_agency"


def upgrade() -> None:
    op.add_column("sync_commit", sa.Column("agency_id", sa.Uuid(), nullable=True))
    op.create_index(INDEX, "sync_commit", ["agency_id", "no"], unique=False,
                    postgresql_where=sa.text("origin_agency_id IS NULL"),
                    sqlite_where=sa.text("origin_agency_id IS NULL"))


def downgrade() -> None:
    op.drop_index(INDEX, table_name="sync_commit")
    with op.batch_alter_table("sync_commit") as batch:
        batch.drop_column("agency_id")
