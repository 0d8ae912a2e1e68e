"""letters: template reviser, template revision and merged data kept with each letter, batch

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("letter_template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revised_by", sa.String(length=80), nullable=False,
                                      server_default=""))
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_revision", sa.Integer(), nullable=False,
                                      server_default="1"))
        batch_op.add_column(sa.Column("merged_data", sa.Text(), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("batch_ref", sa.String(length=40), nullable=False,
                                      server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_column("batch_ref")
        batch_op.drop_column("merged_data")
        batch_op.drop_column("template_revision")
    with op.batch_alter_table("letter_template", schema=None) as batch_op:
        batch_op.drop_column("revised_by")
