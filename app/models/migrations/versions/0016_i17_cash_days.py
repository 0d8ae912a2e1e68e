"""prepaid desk (issue 17): an agent's till for a day — the agent's submitted count, then a
supervisor's closing with the figures locked (local table, never synchronised; the closed
report still goes to central as a document)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cash_day",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("counted_minor", sa.BigInteger(), nullable=True),
        sa.Column("count_reason", sa.Text(), nullable=False),
        sa.Column("counted_by", sa.String(length=40), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_at_count", sa.BigInteger(), nullable=True),
        sa.Column("closed_by", sa.String(length=40), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_minor", sa.BigInteger(), nullable=True),
        sa.Column("closed_counted_minor", sa.BigInteger(), nullable=True),
        sa.Column("difference_minor", sa.BigInteger(), nullable=True),
        sa.Column("closing_reason", sa.Text(), nullable=False),
        sa.Column("by_method", sa.JSON(), nullable=True),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_day")),
        sa.UniqueConstraint("agent", "day", name=op.f("uq_cash_day_agent_day")),
    )


def downgrade() -> None:
    op.drop_table("cash_day")
