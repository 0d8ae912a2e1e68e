"""Letter templates: the shipped ones come from central as reference data (no agency, versioned
with revision, who and when); an agency may add its own. A template is checked when it is added
and on demand; one that fails the check cannot be used."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, undefer

from app.models import LetterTemplate
from app.services.letters.checker import Problem, check_template, is_usable, origins_used
from kernel.context import ServiceContext
from kernel.errors import BusinessError, NotFoundError, ValidationError


@dataclass(frozen=True)
class TemplateInfo:
    id: uuid.UUID
    code: str
    name: str
    category: str
    revision: int
    revised_by: str
    revised_at: datetime
    is_agency_own: bool


def install_shipped(session: Session, revised_by: str = "Siège (modèle fourni)") -> int:
    """Adds the shipped templates central lacks (by code), as shared reference rows; returns how
    many were added. Central's reference data; a demo desk builds them the same way."""
    from resources.letters.shipped import SHIPPED, build

    present = set(session.scalars(select(LetterTemplate.code)
                                  .where(LetterTemplate.agency_id.is_(None))))
    added = 0
    for shipped in SHIPPED:
        if shipped.code in present:
            continue
        session.add(LetterTemplate(code=shipped.code, name=shipped.name,
                                   category=shipped.category, revision=1, content=build(shipped),
                                   revised_by=revised_by))
        added += 1
    session.flush()
    return added


def _visible(ctx: ServiceContext):  # type: ignore[no-untyped-def]
    return or_(LetterTemplate.agency_id.is_(None),
               LetterTemplate.agency_id == ctx.installation.agency_id)


def list_templates(ctx: ServiceContext) -> list[TemplateInfo]:
    """The active templates this agency may use (shared and its own), by category and name."""
    with ctx.reading() as session:
        rows = session.scalars(select(LetterTemplate).where(
            LetterTemplate.is_active.is_(True), _visible(ctx))
            .order_by(LetterTemplate.category, LetterTemplate.name))
        return [TemplateInfo(t.id, t.code, t.name, t.category, t.revision, t.revised_by,
                             ctx.installation.local(t.updated_at), t.agency_id is not None)
                for t in rows]


def template_content(session: Session, template_id: uuid.UUID) -> LetterTemplate:
    template = session.scalars(select(LetterTemplate).options(undefer(LetterTemplate.content))
                               .where(LetterTemplate.id == template_id)).one_or_none()
    if template is None:
        raise NotFoundError("Modèle de courrier introuvable.")
    return template


def template_by_code(session: Session, ctx: ServiceContext, code: str) -> LetterTemplate:
    """The active template of that code this agency may use: its own first, else central's."""
    found = session.scalars(select(LetterTemplate).where(
        LetterTemplate.code == code.strip().upper(), LetterTemplate.is_active.is_(True),
        _visible(ctx)).order_by(LetterTemplate.agency_id.is_(None))).first()
    if found is None:
        raise NotFoundError(f"Aucun modèle de courrier « {code} » dans cette agence.")
    return found


_CHECKED: dict[tuple[uuid.UUID, int], list[Problem]] = {}


def problems_of(template: LetterTemplate) -> list[Problem]:
    """The checker's verdict, kept per template revision (a revision never changes)."""
    key = (template.id, template.revision)
    if key not in _CHECKED:
        _CHECKED[key] = check_template(template.content)
    return _CHECKED[key]


_ORIGINS: dict[tuple[uuid.UUID, int], set[str]] = {}

_MADE_FROM = {
    "devis": ("quote_id", "un devis de travaux",
              "ouvrez le devis et faites « Courrier… » (Ctrl+Maj+E)"),
    "intervention": ("intervention_id", "une demande d'intervention",
                     "sélectionnez la demande dans Interventions et faites « Courrier… » "
                     "(Ctrl+Maj+M), ou la sélection « Rendez-vous d'intervention de demain »"),
}


def require_origin(template: LetterTemplate, subjects: list[Any]) -> None:
    """A template that reads a quote's or a request's fields is refused for a letter not made
    from one (it would print blanks where the quote's number or the appointment go)."""
    key = (template.id, template.revision)
    if key not in _ORIGINS:
        _ORIGINS[key] = origins_used(template.content)
    for origin in sorted(_ORIGINS[key]):
        attribute, what, how = _MADE_FROM[origin]
        if any(getattr(subject, attribute) is None for subject in subjects):
            raise BusinessError(f"Le modèle « {template.name} » se remplit avec {what} : {how}.")


def check_stored(ctx: ServiceContext, template_id: uuid.UUID) -> list[Problem]:
    with ctx.reading() as session:
        return check_template(template_content(session, template_id).content)


def require_usable(template: LetterTemplate) -> None:
    problems = problems_of(template)
    if not is_usable(problems):
        raise BusinessError(
            f"Le modèle « {template.name} » (révision {template.revision}) ne passe pas la "
            "vérification et ne peut pas être utilisé :\n"
            + "\n".join(f"• {p}" for p in problems if p.is_error))


def save_agency_template(ctx: ServiceContext, code: str, name: str, category: str,
                         content: bytes) -> tuple[uuid.UUID, list[Problem]]:
    """Adds the agency's own template, or a new revision of it (same code). Refused, with every
    problem, when the check fails; warnings are returned."""
    code, name = code.strip().upper(), " ".join(name.split())
    errors = {}
    if not code:
        errors["code"] = "Indiquez un code court pour le modèle"
    if not name:
        errors["name"] = "Indiquez le nom du modèle"
    if errors:
        raise ValidationError(errors)
    problems = check_template(content)
    if not is_usable(problems):
        raise ValidationError({"content": "Le modèle ne passe pas la vérification :\n" + "\n".join(
            f"• {p}" for p in problems if p.is_error)})
    who = ctx.user.full_name if ctx.user else ctx.actor.username
    with ctx.unit_of_work() as uow:
        existing = uow.session.scalars(select(LetterTemplate).where(
            LetterTemplate.code == code,
            LetterTemplate.agency_id == ctx.installation.agency_id)).one_or_none()
        if existing is None:
            existing = LetterTemplate(agency_id=ctx.installation.agency_id, code=code, name=name,
                                      category=category, revision=1, content=content,
                                      revised_by=who)
            uow.session.add(existing)
        else:
            existing.revision += 1
            existing.name, existing.category, existing.content = name, category, content
            existing.revised_by = who
        uow.session.flush()
        template_id = existing.id
        uow.commit()
    return template_id, problems
