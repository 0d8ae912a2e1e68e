"""payment cancellation (when, by whom, slip), vacant-premise and corrected readings

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("cancelled_by", sa.String(length=40), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("cancellation_document_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_payment_cancellation_document_id_document"),
            "document",
            ["cancellation_document_id"],
            ["id"],
        )
    with op.batch_alter_table("meter_reading", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "on_vacant_premise", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("corrected_from_index", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meter_reading", schema=None) as batch_op:
        batch_op.drop_column("corrected_from_index")
        batch_op.drop_column("on_vacant_premise")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_payment_cancellation_document_id_document"), type_="foreignkey"
        )
        batch_op.drop_column("cancellation_document_id")
        batch_op.drop_column("cancelled_by")
        batch_op.drop_column("cancelled_at")
