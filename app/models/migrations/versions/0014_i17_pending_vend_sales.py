"""prepaid desk (issue 17): the counter sales awaiting central's answer move from a JSON file
to a local table (never synchronised); an answered sale stays there, marked sold (receipt,
amount, sold_at): the desk's own ledger of its counter sales, for the cash-up

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 23:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prepaid_pending_sale",
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("meter", sa.String(length=30), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("agent", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt", sa.String(length=24), nullable=True),
        sa.Column("sold_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_prepaid_pending_sale")),
    )


def downgrade() -> None:
    op.drop_table("prepaid_pending_sale")
