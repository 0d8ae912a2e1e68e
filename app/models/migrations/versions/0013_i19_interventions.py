"""intervention requests (issue 19): place, deadline, report, history, job lines, attachments;
technicians' teams, skills, hours and absences; central's deadlines, working hours, holidays

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 19:16:17.839252
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intervention_deadline",
        sa.Column(
            "type",
            sa.Enum(
                "leak",
                "leak_at_customer",
                "breakdown",
                "low_pressure",
                "meter_check",
                "meter_install",
                "meter_change",
                "meter_removal",
                "disconnection",
                "reconnection",
                "complaint",
                "works",
                "other",
                "new_connection",
                "prepaid_token",
                name="interventiontype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "priority",
            sa.Enum(
                "low",
                "normal",
                "high",
                "urgent",
                name="interventionpriority",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("working_hours", sa.SmallInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_intervention_deadline_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention_deadline")),
        sa.UniqueConstraint(
            "type", "priority", name=op.f("uq_intervention_deadline_type_priority")
        ),
    )
    with op.batch_alter_table("intervention_deadline", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intervention_deadline_agency_id"), ["agency_id"], unique=False
        )

    op.create_table(
        "public_holiday",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_public_holiday_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_holiday")),
    )
    with op.batch_alter_table("public_holiday", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_public_holiday_agency_id"), ["agency_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_public_holiday_day"), ["day"], unique=False)

    op.create_table(
        "technician_team",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_technician_team_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technician_team")),
    )
    with op.batch_alter_table("technician_team", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_technician_team_agency_id"), ["agency_id"], unique=False
        )

    op.create_table(
        "working_hours",
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("opens_minute", sa.SmallInteger(), nullable=False),
        sa.Column("closes_minute", sa.SmallInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_working_hours_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_hours")),
    )
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_working_hours_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "technician_absence",
        sa.Column("technician_id", sa.Uuid(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=120), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_technician_absence_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["technician.id"],
            name=op.f("fk_technician_absence_technician_id_technician"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technician_absence")),
    )
    with op.batch_alter_table("technician_absence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_technician_absence_agency_id"), ["agency_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_technician_absence_technician_id"), ["technician_id"], unique=False
        )

    op.create_table(
        "intervention_attachment",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_intervention_attachment_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_intervention_attachment_document_id_document"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["intervention_request.id"],
            name=op.f("fk_intervention_attachment_request_id_intervention_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention_attachment")),
    )
    with op.batch_alter_table("intervention_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intervention_attachment_agency_id"), ["agency_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intervention_attachment_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "intervention_event",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("actor_name", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "new",
                "scheduled",
                "in_progress",
                "done",
                "cancelled",
                "reopened",
                name="interventionstatus",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "new",
                "scheduled",
                "in_progress",
                "done",
                "cancelled",
                "reopened",
                name="interventionstatus",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_intervention_event_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["intervention_request.id"],
            name=op.f("fk_intervention_event_request_id_intervention_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention_event")),
    )
    with op.batch_alter_table("intervention_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intervention_event_agency_id"), ["agency_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intervention_event_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "intervention_line",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("quote_line_id", sa.Uuid(), nullable=True),
        sa.Column("catalogue_item_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_intervention_line_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["catalogue_item_id"],
            ["works_catalogue_item.id"],
            name=op.f("fk_intervention_line_catalogue_item_id_works_catalogue_item"),
        ),
        sa.ForeignKeyConstraint(
            ["quote_line_id"],
            ["works_quote_line.id"],
            name=op.f("fk_intervention_line_quote_line_id_works_quote_line"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["intervention_request.id"],
            name=op.f("fk_intervention_line_request_id_intervention_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention_line")),
    )
    with op.batch_alter_table("intervention_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intervention_line_agency_id"), ["agency_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intervention_line_request_id"), ["request_id"], unique=False
        )

    with op.batch_alter_table("intervention_request", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "energy",
                sa.Enum("water", "electricity", name="energy", native_enum=False, length=32),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("reporter_name", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("contact_name", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("commune_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("street_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("house_number", sa.String(length=20), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("landmark", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("duration_minutes", sa.SmallInteger(), server_default="60", nullable=False)
        )
        batch_op.add_column(
            sa.Column("forced_by", sa.String(length=40), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("quote_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("disputed_reading_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("reading_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("time_spent_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("follow_up", sa.String(length=20), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("follow_up_note", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("follows_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_intervention_request_requested_at"), ["requested_at"], unique=False
        )
        batch_op.create_index(
            "ix_intervention_status_requested", ["status", "requested_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intervention_request_premise_id"), ["premise_id"], unique=False
        )
        batch_op.create_index("ix_intervention_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(
            "ix_intervention_type_requested", ["type", "requested_at"], unique=False
        )
        batch_op.create_index(
            "ix_intervention_commune_requested", ["commune_id", "requested_at"], unique=False
        )
        batch_op.create_index(
            "ix_intervention_technician_schedule", ["technician_id", "scheduled_for"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_intervention_request_commune_id_commune"),
            "commune",
            ["commune_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_intervention_request_follows_id_intervention_request"),
            "intervention_request",
            ["follows_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_intervention_request_reading_id_meter_reading"),
            "meter_reading",
            ["reading_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_intervention_request_street_id_street"), "street", ["street_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_intervention_request_disputed_reading_id_meter_reading"),
            "meter_reading",
            ["disputed_reading_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_intervention_request_quote_id_works_quote"),
            "works_quote",
            ["quote_id"],
            ["id"],
        )

    with op.batch_alter_table("technician", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("skills", sa.String(length=60), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("day_starts_minute", sa.SmallInteger(), server_default="450", nullable=False)
        )
        batch_op.add_column(
            sa.Column("day_ends_minute", sa.SmallInteger(), server_default="990", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_technician_team_id_technician_team"),
            "technician_team",
            ["team_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("technician", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_technician_team_id_technician_team"), type_="foreignkey"
        )
        batch_op.drop_column("day_ends_minute")
        batch_op.drop_column("day_starts_minute")
        batch_op.drop_column("skills")
        batch_op.drop_column("team_id")

    with op.batch_alter_table("intervention_request", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_intervention_request_quote_id_works_quote"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_intervention_request_disputed_reading_id_meter_reading"),
            type_="foreignkey",
        )
        batch_op.drop_constraint(
            batch_op.f("fk_intervention_request_street_id_street"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_intervention_request_reading_id_meter_reading"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_intervention_request_follows_id_intervention_request"),
            type_="foreignkey",
        )
        batch_op.drop_constraint(
            batch_op.f("fk_intervention_request_commune_id_commune"), type_="foreignkey"
        )
        batch_op.drop_index("ix_intervention_technician_schedule")
        batch_op.drop_index("ix_intervention_commune_requested")
        batch_op.drop_index("ix_intervention_type_requested")
        batch_op.drop_index("ix_intervention_status_due")
        batch_op.drop_index(batch_op.f("ix_intervention_request_premise_id"))
        batch_op.drop_index(batch_op.f("ix_intervention_request_requested_at"))
        batch_op.drop_index("ix_intervention_status_requested")
        batch_op.drop_column("follows_id")
        batch_op.drop_column("follow_up_note")
        batch_op.drop_column("follow_up")
        batch_op.drop_column("time_spent_minutes")
        batch_op.drop_column("reading_id")
        batch_op.drop_column("disputed_reading_id")
        batch_op.drop_column("quote_id")
        batch_op.drop_column("forced_by")
        batch_op.drop_column("duration_minutes")
        batch_op.drop_column("due_at")
        batch_op.drop_column("landmark")
        batch_op.drop_column("house_number")
        batch_op.drop_column("street_id")
        batch_op.drop_column("commune_id")
        batch_op.drop_column("contact_name")
        batch_op.drop_column("reporter_name")
        batch_op.drop_column("energy")

    with op.batch_alter_table("intervention_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_line_request_id"))
        batch_op.drop_index(batch_op.f("ix_intervention_line_agency_id"))

    op.drop_table("intervention_line")
    with op.batch_alter_table("intervention_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_event_request_id"))
        batch_op.drop_index(batch_op.f("ix_intervention_event_agency_id"))

    op.drop_table("intervention_event")
    with op.batch_alter_table("intervention_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_attachment_request_id"))
        batch_op.drop_index(batch_op.f("ix_intervention_attachment_agency_id"))

    op.drop_table("intervention_attachment")
    with op.batch_alter_table("technician_absence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_technician_absence_technician_id"))
        batch_op.drop_index(batch_op.f("ix_technician_absence_agency_id"))

    op.drop_table("technician_absence")
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_working_hours_agency_id"))

    op.drop_table("working_hours")
    with op.batch_alter_table("technician_team", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_technician_team_agency_id"))

    op.drop_table("technician_team")
    with op.batch_alter_table("public_holiday", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_holiday_day"))
        batch_op.drop_index(batch_op.f("ix_public_holiday_agency_id"))

    op.drop_table("public_holiday")
    with op.batch_alter_table("intervention_deadline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_deadline_agency_id"))

    op.drop_table("intervention_deadline")
