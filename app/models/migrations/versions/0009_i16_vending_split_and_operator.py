"""vending platform: the amount split of a sale, its key change tokens, its operator

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONEY = ("energy_minor", "fixed_charge_minor", "arrears_minor", "vat_minor")


def upgrade() -> None:
    with op.batch_alter_table("vend_transaction", schema=None) as batch_op:
        for name in _MONEY:
            batch_op.add_column(sa.Column(name, sa.BigInteger(), nullable=False,
                                          server_default="0"))
        batch_op.add_column(sa.Column("key_change_tokens", sa.String(length=120),
                                      nullable=False, server_default=""))
        batch_op.add_column(sa.Column("operator_code", sa.String(length=20), nullable=False,
                                      server_default=""))
        batch_op.create_index("ix_vend_transaction_phone_sold", ["phone", "sold_at"])


def downgrade() -> None:
    with op.batch_alter_table("vend_transaction", schema=None) as batch_op:
        batch_op.drop_index("ix_vend_transaction_phone_sold")
        batch_op.drop_column("operator_code")
        batch_op.drop_column("key_change_tokens")
        for name in reversed(_MONEY):
            batch_op.drop_column(name)
