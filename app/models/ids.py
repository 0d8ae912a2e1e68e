"""Row identities and timestamps, made where the row is born."""

import uuid
from datetime import UTC, datetime

import uuid6


def new_id() -> uuid.UUID:
    """A UUIDv7: unique without coordination, time-ordered so that B-tree indexes stay compact."""
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


def utcnow() -> datetime:
    return datetime.now(UTC)
