"""works quotes: prospects, discounts, revisions, every workflow step with who and when

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXTS = (
    ("prospect_last_name", 100), ("prospect_first_name", 100), ("prospect_phone", 20),
    ("prospect_house_number", 12), ("prospect_complement", 120), ("sent_by", 40),
    ("approval_recorded_by", 40), ("refused_by", 40), ("revised_by", 40), ("ordered_by", 40),
    ("invoiced_by", 40),
)
_MOMENTS = ("sent_at", "approval_recorded_at", "refused_at", "expired_at", "revised_at",
            "ordered_at", "invoiced_at")
_KEYS = (("commune_id", "commune"), ("prospect_street_id", "street"), ("tariff_id", "tariff"),
         ("previous_quote_id", "works_quote"), ("document_id", "document"),
         ("approval_document_id", "document"))


def upgrade() -> None:
    with op.batch_alter_table("works_quote", schema=None) as batch_op:
        for name, _table in _KEYS:
            batch_op.add_column(sa.Column(name, sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column(
            "prospect_civility",
            sa.Enum("M.", "Mme", "Mlle", "Sté", name="civility", native_enum=False, length=32),
            nullable=True))
        batch_op.add_column(sa.Column(
            "approval_method",
            sa.Enum("in_person", "signed_paper", name="approvalmethod", native_enum=False,
                    length=32),
            nullable=True))
        for name, length in _TEXTS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=False,
                                          server_default=""))
        for name in _MOMENTS:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("discount_rate", sa.BigInteger(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("revision", sa.SmallInteger(), nullable=False,
                                      server_default="1"))
        batch_op.alter_column("customer_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_index(batch_op.f("ix_works_quote_commune_id"), ["commune_id"],
                              unique=False)
        batch_op.create_index("ix_works_quote_issued", ["issued_on", "number"], unique=False)
        for name, table in _KEYS:
            batch_op.create_foreign_key(batch_op.f(f"fk_works_quote_{name}_{table}"), table,
                                        [name], ["id"])
    with op.batch_alter_table("works_quote_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discount_rate", sa.BigInteger(), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    # A quote for a prospect (no customer yet) has no place in the previous shape: it goes,
    # with its lines, and what pointed at it forgets it.
    prospects = "SELECT id FROM works_quote WHERE customer_id IS NULL"
    op.execute(f"UPDATE invoice SET works_quote_id = NULL WHERE works_quote_id IN ({prospects})")
    op.execute(f"UPDATE works_quote SET previous_quote_id = NULL "
               f"WHERE previous_quote_id IN ({prospects})")
    op.execute(f"DELETE FROM works_quote_line WHERE quote_id IN ({prospects})")
    op.execute("DELETE FROM works_quote WHERE customer_id IS NULL")
    with op.batch_alter_table("works_quote_line", schema=None) as batch_op:
        batch_op.drop_column("discount_rate")
    with op.batch_alter_table("works_quote", schema=None) as batch_op:
        for name, table in _KEYS:
            batch_op.drop_constraint(batch_op.f(f"fk_works_quote_{name}_{table}"),
                                     type_="foreignkey")
        batch_op.drop_index("ix_works_quote_issued")
        batch_op.drop_index(batch_op.f("ix_works_quote_commune_id"))
        batch_op.alter_column("customer_id", existing_type=sa.Uuid(), nullable=False)
        for name in ("revision", "discount_rate", *_MOMENTS, *(n for n, _l in _TEXTS),
                     "approval_method", "prospect_civility", *(n for n, _t in _KEYS)):
            batch_op.drop_column(name)
