"""billing runs: machine and process (dead runs); night events (downloads, reconciliations)

Revision ID: c0003
Revises: c0002
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0003"
down_revision: str | None = "c0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_run") as batch:
        batch.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
    op.create_table(
        "night_report",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("commits", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("parked", sa.Integer(), nullable=False),
        sa.Column("mismatches", sa.JSON(), nullable=False),
        sa.Column("repaired_rows", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_night_report")),
    )
    op.create_index("ix_night_report_agency_at", "night_report", ["agency_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_night_report_agency_at", table_name="night_report")
    op.drop_table("night_report")
    with op.batch_alter_table("billing_run") as batch:
        batch.drop_column("pid")
        batch.drop_column("host")
