"""The central database's schema: the shared chain (``app.models``) then central's own, each
with its version table (``alembic_version`` and ``alembic_version_central``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from central.models import CentralBase
from kernel import migrate as shared
from kernel.migrate import Chain

VERSION_TABLE = "alembic_version_central"
CENTRAL = Chain(Path(__file__).with_name("migrations"), VERSION_TABLE)


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Autogenerate looks at central's own tables only, never at the shared schema."""
    if type_ == "table":
        return name in CentralBase.metadata.tables
    return True


def head_revision() -> str:
    return CENTRAL.head_revision()


def current_revision(engine: Engine) -> str | None:
    return CENTRAL.current_revision(engine)


def upgrade(engine: Engine) -> None:
    """Bring both schemas to their head revision (idempotent)."""
    shared.upgrade(engine)
    CENTRAL.upgrade(engine)


def needs_upgrade(engine: Engine) -> bool:
    return shared.needs_upgrade(engine) or current_revision(engine) != head_revision()


def describe(engine: Engine) -> str:
    return (
        f"schéma commun {shared.current_revision(engine)} (dernier {shared.head_revision()}), "
        f"schéma central {current_revision(engine)} (dernier {head_revision()})"
    )
