"""The night of a country: central's own commits indexed apart from the agencies' uploads

Revision ID: c0007
Revises: c0006
Create Date: 2026-12-06 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0007"
down_revision: str | None = "c0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_sync_commit_central", "sync_commit", ["no"], unique=False,
                    postgresql_where=sa.text("origin_agency_id IS NULL"),
                    sqlite_where=sa.text("origin_agency_id IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_sync_commit_central", table_name="sync_commit")
