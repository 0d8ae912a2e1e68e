"""customer search: phone numbers read backwards, so that the end of a number is a B-tree prefix

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 16:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE = (
    "CREATE TABLE customer_search_phone_end ("
    "phone_end VARCHAR(32) NOT NULL, customer_id CHAR(32) NOT NULL, "
    "PRIMARY KEY (phone_end, customer_id)) WITHOUT ROWID",
    "CREATE INDEX ix_customer_search_phone_end_customer ON customer_search_phone_end (customer_id)",
)
POSTGRES = (
    "CREATE TABLE customer_search_phone_end ("
    'phone_end text COLLATE "C" NOT NULL, customer_id uuid NOT NULL, '
    "PRIMARY KEY (phone_end, customer_id))",
    "CREATE INDEX ix_customer_search_phone_end_customer ON customer_search_phone_end (customer_id)",
)
#: The numbers of the customers already indexed (the write path keeps them up to date after).
FILL = (
    "INSERT INTO customer_search_phone_end (phone_end, customer_id) "
    "SELECT {reverse}(mobile), id FROM customer WHERE mobile <> '' "
    "UNION SELECT {reverse}(phone), id FROM customer WHERE phone <> ''"
)


def _reverse(value: str | None) -> str | None:
    return value[::-1] if value is not None else None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE:
            op.execute(statement)
        raw = bind.connection.driver_connection
        assert raw is not None
        raw.create_function("guichet_reverse", 1, _reverse, deterministic=True)
        op.execute(FILL.format(reverse="guichet_reverse"))
    else:
        for statement in POSTGRES:
            op.execute(statement)
        op.execute(FILL.format(reverse="reverse"))
        op.execute("ANALYZE customer_search_phone_end")


def downgrade() -> None:
    op.execute("DROP TABLE customer_search_phone_end")
