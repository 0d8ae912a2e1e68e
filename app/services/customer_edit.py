"""Creating a customer (with account and premise in one transaction), editing the identity,
and warning about a customer who may already exist."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import Account, Commune, Customer, Premise, Street
from app.models.enums import Civility, CustomerKind, IdentityDocumentType, PaymentMode
from app.models.search_index import normalise
from app.services.customer_file import Identity
from app.services.editing import get_for_edit
from app.services.search import format_address, search_customers
from kernel.context import ServiceContext
from kernel.errors import ValidationError
from kernel.identifiers import make_account_number, normalise_phone
from kernel.numbering import Series, next_counter

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class IdentityInput:
    kind: CustomerKind = CustomerKind.PERSON
    civility: Civility | None = None
    last_name: str = ""
    first_name: str = ""
    organisation_name: str = ""
    phone: str = ""
    mobile: str = ""
    email: str = ""
    id_document_type: IdentityDocumentType | None = None
    id_document_number: str = ""
    birth_date: date | None = None
    notes: str = ""

    @classmethod
    def from_identity(cls, identity: Identity) -> IdentityInput:
        return cls(
            identity.kind,
            identity.civility,
            identity.last_name,
            identity.first_name,
            identity.organisation_name,
            identity.phone,
            identity.mobile,
            identity.email,
            identity.id_document_type,
            identity.id_document_number,
            identity.birth_date,
            identity.notes,
        )


@dataclass(frozen=True)
class AddressInput:
    commune_id: uuid.UUID | None = None
    street_id: uuid.UUID | None = None
    house_number: str = ""
    complement: str = ""


@dataclass(frozen=True)
class NewCustomerInput:
    identity: IdentityInput
    address: AddressInput
    payment_mode: PaymentMode = PaymentMode.CASH


def _clean_phone(value: str, field: str, errors: dict[str, str]) -> str:
    if not value.strip():
        return ""
    number = normalise_phone(value)
    if not (8 <= len(number) <= 10):
        errors[field] = "Numéro de téléphone invalide (8 à 10 chiffres, indicatif facultatif)"
    return number


def validate_identity(data: IdentityInput, today: date) -> IdentityInput:
    """The input cleaned (trimmed, phones normalised), or every problem at once, by field."""
    errors: dict[str, str] = {}
    last = " ".join(data.last_name.split())
    first = " ".join(data.first_name.split())
    organisation = " ".join(data.organisation_name.split())
    if data.kind is CustomerKind.PERSON:
        if not last:
            errors["last_name"] = "Le nom est obligatoire"
        if data.civility in (None, Civility.COMPANY):
            errors["civility"] = "Choisissez la civilité (M., Mme, Mlle)"
        if data.birth_date and not (date(1900, 1, 1) <= data.birth_date <= today):
            errors["birth_date"] = "Date de naissance invraisemblable"
    else:
        if not organisation:
            errors["organisation_name"] = "La raison sociale est obligatoire"
    for name, value in (("last_name", last), ("first_name", first)):
        if value and not re.fullmatch(r"[^\d@#$%&*_=+<>{}\[\]|\\/]+", value):
            errors.setdefault(name, "Caractères non autorisés dans un nom")
    phone = _clean_phone(data.phone, "phone", errors)
    mobile = _clean_phone(data.mobile, "mobile", errors)
    if not phone and not mobile:
        errors.setdefault("mobile", "Au moins un numéro de téléphone est nécessaire")
    email = data.email.strip().lower()
    if email and not _EMAIL.match(email):
        errors["email"] = "Adresse e-mail invalide"
    number = data.id_document_number.strip().upper()
    if data.id_document_type and not number:
        errors["id_document_number"] = "Saisissez le numéro de la pièce"
    if number and not data.id_document_type:
        errors["id_document_type"] = "Choisissez le type de pièce"
    if errors:
        raise ValidationError(errors)
    return replace(
        data,
        civility=Civility.COMPANY if data.kind is CustomerKind.ORGANISATION else data.civility,
        last_name=last if data.kind is CustomerKind.PERSON else "",
        first_name=first if data.kind is CustomerKind.PERSON else "",
        organisation_name=organisation if data.kind is CustomerKind.ORGANISATION else "",
        phone=phone,
        mobile=mobile,
        email=email,
        id_document_number=number,
        notes=data.notes.strip(),
    )


def _apply(customer: Customer, data: IdentityInput) -> None:
    for field in (
        "kind",
        "civility",
        "last_name",
        "first_name",
        "organisation_name",
        "phone",
        "mobile",
        "email",
        "id_document_type",
        "id_document_number",
        "birth_date",
        "notes",
    ):
        if getattr(customer, field) != getattr(data, field):
            setattr(customer, field, getattr(data, field))


def update_identity(
    ctx: ServiceContext, customer_id: uuid.UUID, opened_version: int, data: IdentityInput
) -> int:
    """Save an edited identity; refused if someone saved the file since it was opened.
    Returns the new version."""
    clean = validate_identity(data, ctx.installation.today())
    with ctx.unit_of_work() as uow:
        customer = get_for_edit(
            uow.session, Customer, customer_id, opened_version, "La fiche client"
        )
        _apply(customer, clean)
        uow.commit()
        return customer.version


@dataclass(frozen=True)
class SimilarCustomer:
    customer_id: uuid.UUID
    name: str
    address: str
    reason: str


def find_similar(
    ctx: ServiceContext, data: NewCustomerInput, limit: int = 10
) -> list[SimilarCustomer]:
    """Customers who may be the same: same phone, or same name at the same address."""
    identity = data.identity
    phones = [p for p in (normalise_phone(identity.phone), normalise_phone(identity.mobile)) if p]
    wanted = normalise(
        identity.organisation_name
        if identity.kind is CustomerKind.ORGANISATION
        else f"{identity.last_name} {identity.first_name}"
    )
    candidates = []
    if wanted and data.address.commune_id:
        candidates = [h.customer_id for h in search_customers(ctx, wanted, limit=50).hits]
    found: dict[uuid.UUID, SimilarCustomer] = {}
    with ctx.reading() as session:
        if phones:
            for customer in session.scalars(
                select(Customer)
                .where(or_(Customer.mobile.in_(phones), Customer.phone.in_(phones)))
                .limit(limit)
            ):
                found[customer.id] = SimilarCustomer(
                    customer.id,
                    customer.display_name,
                    _address_of(session, customer.id),
                    "même téléphone",
                )
        rows = (
            session.execute(
                select(Customer, Premise)
                .join(Account, Account.customer_id == Customer.id)
                .join(Premise, Premise.id == Account.billing_premise_id)
                .where(Customer.id.in_(candidates), Premise.commune_id == data.address.commune_id)
            ).all()
            if candidates
            else []
        )
        for customer, premise in rows:
            name = normalise(
                customer.organisation_name
                if customer.kind is CustomerKind.ORGANISATION
                else f"{customer.last_name} {customer.first_name}"
            )
            same_place = (
                premise.street_id == data.address.street_id
                and premise.house_number.strip() == data.address.house_number.strip()
            )
            if name == wanted and same_place and customer.id not in found:
                found[customer.id] = SimilarCustomer(
                    customer.id,
                    customer.display_name,
                    _address_of(session, customer.id),
                    "même nom et même adresse",
                )
    return list(found.values())[:limit]


def _address_of(session: Session, customer_id: uuid.UUID) -> str:
    row = session.execute(
        select(Premise.house_number, Street.name, Premise.complement, Commune.name)
        .join(Account, Account.billing_premise_id == Premise.id)
        .join(Commune, Commune.id == Premise.commune_id)
        .outerjoin(Street, Street.id == Premise.street_id)
        .where(Account.customer_id == customer_id)
        .limit(1)
    ).first()
    return format_address(*row) if row else ""


def validate_address(session: Session, address: AddressInput) -> None:
    errors: dict[str, str] = {}
    if address.commune_id is None or session.get(Commune, address.commune_id) is None:
        errors["commune_id"] = "Choisissez la commune"
    elif address.street_id is not None:
        street = session.get(Street, address.street_id)
        if street is None or street.commune_id != address.commune_id:
            errors["street_id"] = "Cette rue n'est pas dans la commune choisie"
    if address.street_id is None and not address.complement.strip():
        errors["complement"] = "Sans rue, décrivez l'emplacement (lot, îlot, repère)"
    if errors:
        raise ValidationError(errors)


@dataclass(frozen=True)
class CreatedCustomer:
    customer_id: uuid.UUID
    account_id: uuid.UUID
    account_number: str
    premise_id: uuid.UUID


def create_customer(ctx: ServiceContext, data: NewCustomerInput) -> CreatedCustomer:
    """Customer, account (numbered in the agency's series) and premise, all or nothing."""
    with ctx.unit_of_work() as uow:
        created = add_customer(ctx, uow.session, data)
        uow.commit()
        return created


def add_customer(ctx: ServiceContext, session: Session, data: NewCustomerInput) -> CreatedCustomer:
    """``create_customer`` inside the caller's transaction (a prospect becoming a customer
    when its works are invoiced)."""
    today = ctx.installation.today()
    agency_id = ctx.installation.agency_id
    errors: dict[str, str] = {}
    try:
        identity = validate_identity(data.identity, today)
    except ValidationError as error:
        errors |= error.fields
    try:
        validate_address(session, data.address)
    except ValidationError as error:
        errors |= error.fields
    if errors:
        raise ValidationError(errors)
    customer = Customer(
        agency_id=agency_id,
        **{field: getattr(identity, field) for field in IdentityInput.__dataclass_fields__},
    )
    premise = Premise(
        agency_id=agency_id,
        commune_id=data.address.commune_id,
        street_id=data.address.street_id,
        house_number=data.address.house_number.strip(),
        complement=data.address.complement.strip(),
    )
    session.add_all([customer, premise])
    session.flush()
    counter = next_counter(session, ctx.installation.agency_code, Series.ACCOUNT, today.year)
    account = Account(
        agency_id=agency_id,
        number=make_account_number(ctx.installation.agency_code, today.year, counter),
        customer_id=customer.id,
        payment_mode=data.payment_mode,
        opened_on=today,
        billing_premise_id=premise.id,
    )
    session.add(account)
    session.flush()
    return CreatedCustomer(customer.id, account.id, account.number, premise.id)


@dataclass(frozen=True)
class Choice:
    value: uuid.UUID
    label: str


def communes(ctx: ServiceContext) -> list[Choice]:
    with ctx.reading() as session:
        return [
            Choice(i, n)
            for i, n in session.execute(select(Commune.id, Commune.name).order_by(Commune.name))
        ]


def streets(ctx: ServiceContext, commune_id: uuid.UUID) -> list[Choice]:
    with ctx.reading() as session:
        return [
            Choice(i, n)
            for i, n in session.execute(
                select(Street.id, Street.name)
                .where(Street.commune_id == commune_id)
                .order_by(Street.name)
            )
        ]
