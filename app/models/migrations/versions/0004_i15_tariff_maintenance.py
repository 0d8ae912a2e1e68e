"""tariff maintenance: customer categories, arrears recovery share, social band; premise category

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CATEGORY = sa.Enum(
    "domestic", "commercial", "industrial", "public",
    name="premisecategory", native_enum=False, length=32, create_constraint=False,
)


def upgrade() -> None:
    with op.batch_alter_table("tariff") as batch:
        batch.add_column(sa.Column("customer_categories", sa.String(length=120), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("arrears_recovery_share", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("tariff_band") as batch:
        batch.add_column(sa.Column("is_social", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("premise") as batch:
        batch.add_column(sa.Column("category", _CATEGORY, nullable=False,
                                   server_default="domestic"))


def downgrade() -> None:
    with op.batch_alter_table("premise") as batch:
        batch.drop_column("category")
    with op.batch_alter_table("tariff_band") as batch:
        batch.drop_column("is_social")
    with op.batch_alter_table("tariff") as batch:
        batch.drop_column("arrears_recovery_share")
        batch.drop_column("customer_categories")
