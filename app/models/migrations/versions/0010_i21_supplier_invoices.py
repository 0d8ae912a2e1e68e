"""supplier invoices integrated from EDIFACT at central, read-only on the agencies' desks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _synced() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "supplier_invoice",
        sa.Column("supplier_code", sa.String(length=35), nullable=False),
        sa.Column("supplier_name", sa.String(length=120), nullable=False),
        sa.Column("number", sa.String(length=35), nullable=False),
        sa.Column("is_credit_note", sa.Boolean(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("site_reference", sa.String(length=35), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_excl_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("sender", sa.String(length=35), nullable=False),
        sa.Column("interchange_reference", sa.String(length=14), nullable=False),
        sa.Column("message_reference", sa.String(length=14), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        *_synced(),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"],
                                name=op.f("fk_supplier_invoice_agency_id_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_invoice")),
        sa.UniqueConstraint("supplier_code", "number", "is_credit_note",
                            name=op.f("uq_supplier_invoice_supplier_code_number_is_credit_note")),
    )
    op.create_index("ix_supplier_invoice_agency_issued", "supplier_invoice",
                    ["agency_id", "issued_on"])
    op.create_index(op.f("ix_supplier_invoice_agency_id"), "supplier_invoice", ["agency_id"])
    op.create_table(
        "supplier_invoice_line",
        sa.Column("supplier_invoice_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("site_reference", sa.String(length=35), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=True),
        sa.Column("amount_excl_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_rate", sa.BigInteger(), nullable=True),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        *_synced(),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"],
                                name=op.f("fk_supplier_invoice_line_agency_id_agency")),
        sa.ForeignKeyConstraint(
            ["supplier_invoice_id"], ["supplier_invoice.id"],
            name=op.f("fk_supplier_invoice_line_supplier_invoice_id_supplier_invoice")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_invoice_line")),
    )
    op.create_index(op.f("ix_supplier_invoice_line_agency_id"), "supplier_invoice_line",
                    ["agency_id"])
    op.create_index(op.f("ix_supplier_invoice_line_supplier_invoice_id"),
                    "supplier_invoice_line", ["supplier_invoice_id"])


def downgrade() -> None:
    op.drop_table("supplier_invoice_line")
    op.drop_table("supplier_invoice")
