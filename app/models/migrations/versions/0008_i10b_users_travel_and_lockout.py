"""users travel only where they sign in; sign-in lock after repeated failures

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("roaming", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("desk_only", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.drop_column("locked_at")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("desk_only")
        batch_op.drop_column("roaming")
