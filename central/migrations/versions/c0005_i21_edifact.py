"""EDIFACT supplier invoices: suppliers, their sites per agency, the interchanges integrated

Revision ID: c0005
Revises: c0004
Create Date: 2026-12-05 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0005"
down_revision: str | None = "c0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "edifact_supplier",
        sa.Column("code", sa.String(length=35), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_edifact_supplier")),
    )
    op.create_table(
        "edifact_site",
        sa.Column("supplier_code", sa.String(length=35), nullable=False),
        sa.Column("reference", sa.String(length=35), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("agency_code", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("supplier_code", "reference", name=op.f("pk_edifact_site")),
    )
    op.create_table(
        "edifact_interchange",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sender", sa.String(length=35), nullable=False),
        sa.Column("reference", sa.String(length=14), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("rejections", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edifact_interchange")),
        sa.UniqueConstraint("sender", "reference",
                            name=op.f("uq_edifact_interchange_sender_reference")),
    )


def downgrade() -> None:
    op.drop_table("edifact_interchange")
    op.drop_table("edifact_site")
    op.drop_table("edifact_supplier")
