"""sync records: batches received, commit numbering, database generation, agency state

Revision ID: c0002
Revises: c0001
Create Date: 2026-11-22 07:44:43.622421
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "c0002"
down_revision: str | None = "c0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_agency",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        sa.Column("last_billed_period", sa.String(length=7), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_sync_agency")),
    )
    op.create_table(
        "sync_batch",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_batch")),
        sa.UniqueConstraint("agency_id", "number", name=op.f("uq_sync_batch_agency_id_number")),
    )
    op.create_table(
        "sync_commit",
        sa.Column("no", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("origin_agency_id", sa.Uuid(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("no", name=op.f("pk_sync_commit")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_sync_commit_transaction_id")),
    )
    counter = op.create_table(
        "sync_commit_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_commit_counter")),
    )
    generation = op.create_table(
        "sync_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.Uuid(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_generation")),
    )
    op.bulk_insert(counter, [{"id": 1, "last": 0}])
    op.bulk_insert(generation, [{"id": 1, "generation": uuid.uuid4(), "since": datetime.now(UTC)}])
    # Merges read central's journal of one row since a version.
    op.create_index("ix_central_sync_journal_row", "sync_journal", ["row_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_central_sync_journal_row", table_name="sync_journal")
    op.drop_table("sync_generation")
    op.drop_table("sync_commit_counter")
    op.drop_table("sync_commit")
    op.drop_table("sync_batch")
    op.drop_table("sync_agency")
