"""vending platform: operators, purchase references, meters' keys, HES deliveries, SMS outbox

Revision ID: c0004
Revises: c0003
Create Date: 2026-12-05 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0004"
down_revision: str | None = "c0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vending_operator",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("min_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("max_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("max_payer_day_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("revoked_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vending_operator")),
        sa.UniqueConstraint("code", name=op.f("uq_vending_operator_code")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_vending_operator_secret_hash")),
    )
    op.create_table(
        "vending_request",
        sa.Column("operator_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("vend_id", sa.Uuid(), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("operator_id", "reference", name=op.f("pk_vending_request")),
    )
    op.create_table(
        "vending_meter",
        sa.Column("meter_id", sa.Uuid(), nullable=False),
        sa.Column("drn", sa.String(length=13), nullable=False),
        sa.Column("sgc", sa.Integer(), nullable=False),
        sa.Column("ti", sa.Integer(), nullable=False),
        sa.Column("krn", sa.Integer(), nullable=False),
        sa.Column("kt", sa.Integer(), nullable=False),
        sa.Column("ken", sa.Integer(), nullable=False),
        sa.Column("base_date", sa.Integer(), nullable=False),
        sa.Column("last_tid", sa.Integer(), nullable=True),
        sa.Column("blocked_reason", sa.Text(), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("meter_id", name=op.f("pk_vending_meter")),
        sa.UniqueConstraint("drn", name=op.f("uq_vending_meter_drn")),
    )
    op.create_table(
        "hes_delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vend_id", sa.Uuid(), nullable=False),
        sa.Column("drn", sa.String(length=13), nullable=False),
        sa.Column("tokens", sa.String(length=200), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("queued", "acknowledged", "refused", "unacknowledged",
                                    name="deliverystatus", native_enum=False, length=32),
                  nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", _AT, nullable=False),
        sa.Column("last_answer", sa.Text(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hes_delivery")),
    )
    op.create_index("ix_hes_delivery_status_next", "hes_delivery", ["status", "next_at"])
    op.create_index(op.f("ix_hes_delivery_vend_id"), "hes_delivery", ["vend_id"])
    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vend_id", sa.Uuid(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("text", sa.String(length=160), nullable=False),
        sa.Column("status", sa.Enum("queued", "sent", "failed", name="smsstatuscentral",
                                    native_enum=False, length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", _AT, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("sent_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_outbox")),
    )
    op.create_index("ix_sms_outbox_status_next", "sms_outbox", ["status", "next_at"])
    op.create_index(op.f("ix_sms_outbox_vend_id"), "sms_outbox", ["vend_id"])
    op.create_index(op.f("ix_sms_outbox_phone"), "sms_outbox", ["phone"])


def downgrade() -> None:
    op.drop_table("sms_outbox")
    op.drop_table("hes_delivery")
    op.drop_table("vending_meter")
    op.drop_table("vending_request")
    op.drop_table("vending_operator")
