"""Tariff maintenance at central: tariffs and their versions, from a small declarative TOML file.

A tariff is known by its code; each version is a ``tariff`` row of that code with its own
validity (``valid_from`` .. ``valid_to``), bands, fixed charge and VAT. Billing prices each day
under the version in force that day. Versions of a code never overlap: a new version closes the
open one the day before it starts. Writes go through the write path (audit entry as
``central``, sync journal), so the desks get the new rows with the nightly synchronisation.

Prepaid tariffs live here too: their bands are over the month's cumulative purchases (kWh), the
fixed charge is monthly, and ``arrears_recovery_share`` is the share of each purchase kept to
recover the account's arrears.

The file (prices in the currency's major unit, as decimal strings)::

    code = "EAU-DOM"
    name = "Eau — usage domestique"
    energy = "water"            # water | electricity
    payment = "postpaid"        # postpaid | prepaid
    valid_from = 2027-01-01
    fixed_charge = "1500"       # a month, before VAT
    vat_rate = "0.18"
    customer_categories = ["domestic"]   # domestic, commercial, industrial, public; [] = all

    [[bands]]
    from = 0
    to = 10
    price = "245"
    social = true               # the social (lifeline) band: the first one only

    [[bands]]
    from = 10
    to = 30
    price = "445"

    [[bands]]
    from = 30                   # the last band has no "to"
    price = "690"
"""

from __future__ import annotations

import tomllib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Agency, Tariff, TariffBand
from app.models.database import Database
from app.models.enums import Energy, MeterPayment, PremiseCategory
from central.actors import ADMINISTRATION
from kernel.context import UnitOfWork
from kernel.errors import BusinessError, NotFoundError, ValidationError
from kernel.money import Currency

_KEYS = {"code", "name", "energy", "payment", "valid_from", "valid_to", "fixed_charge",
         "vat_rate", "customer_categories", "bands", "agency", "sts_tariff_index",
         "arrears_recovery_share"}
_BAND_KEYS = {"from", "to", "price", "social"}


@dataclass(frozen=True)
class BandSpec:
    lower: int
    upper: int | None
    price: Decimal
    social: bool = False


@dataclass(frozen=True)
class TariffSpec:
    code: str
    name: str
    energy: Energy
    payment: MeterPayment
    valid_from: date
    valid_to: date | None
    fixed_charge_minor: int
    vat_rate: Decimal
    customer_categories: tuple[str, ...]
    bands: tuple[BandSpec, ...]
    agency_code: str | None = None
    sts_tariff_index: int | None = None
    arrears_recovery_share: Decimal | None = None


@dataclass(frozen=True)
class TariffVersionInfo:
    id: uuid.UUID
    code: str
    name: str
    energy: Energy
    payment: MeterPayment
    agency_code: str | None
    valid_from: date
    valid_to: date | None
    fixed_charge_minor: int
    vat_rate: Decimal
    customer_categories: tuple[str, ...]
    bands: tuple[BandSpec, ...]
    sts_tariff_index: int | None
    arrears_recovery_share: Decimal | None

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class _Problems:
    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, message)

    def raise_if_any(self, what: str) -> None:
        if self.fields:
            details = " ; ".join(f"{k} : {v}" for k, v in self.fields.items())
            raise ValidationError(dict(self.fields), f"{what} invalide — {details}")


def _decimal(value: Any, field: str, problems: _Problems) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        problems.add(field, "nombre décimal attendu (entre guillemets, ex. \"245\")")
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        problems.add(field, f"« {value} » n'est pas un nombre")
        return None
    if not number.is_finite():
        problems.add(field, f"« {value} » n'est pas un nombre")
        return None
    return number


def _day(value: Any, field: str, problems: _Problems) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.add(field, "date AAAA-MM-JJ attendue")
    return None


def parse_tariff(data: dict[str, Any], currency: Currency) -> TariffSpec:
    """A tariff version from the file's table, validated (every problem named at once)."""
    problems = _Problems()
    for key in sorted(set(data) - _KEYS):
        problems.add(key, "clé inconnue")
    code = str(data.get("code", "")).strip().upper()
    if not code or len(code) > 20:
        problems.add("code", "obligatoire, 20 caractères au plus")
    name = str(data.get("name", "")).strip()
    if not name or len(name) > 120:
        problems.add("name", "obligatoire, 120 caractères au plus")
    try:
        energy = Energy(data.get("energy", ""))
    except ValueError:
        problems.add("energy", "water ou electricity")
        energy = Energy.WATER
    try:
        payment = MeterPayment(data.get("payment", MeterPayment.POSTPAID.value))
    except ValueError:
        problems.add("payment", "postpaid ou prepaid")
        payment = MeterPayment.POSTPAID
    valid_from = _day(data.get("valid_from"), "valid_from", problems)
    valid_to = None
    if "valid_to" in data:
        valid_to = _day(data["valid_to"], "valid_to", problems)
        if valid_from and valid_to and valid_to < valid_from:
            problems.add("valid_to", "antérieure à valid_from")
    fixed = _decimal(data.get("fixed_charge", "0"), "fixed_charge", problems)
    fixed_minor = 0
    if fixed is not None:
        if fixed < 0:
            problems.add("fixed_charge", "ne peut pas être négative")
        elif fixed != currency.round(fixed):
            problems.add("fixed_charge", f"plus de décimales que la devise {currency.code}")
        else:
            fixed_minor = currency.to_minor(fixed)
    vat = _decimal(data.get("vat_rate"), "vat_rate", problems)
    if vat is not None and not Decimal(0) <= vat < 1:
        problems.add("vat_rate", "taux entre 0 et 1 (0.18 pour 18 %)")
    categories = data.get("customer_categories", [])
    known = {c.value for c in PremiseCategory}
    if not isinstance(categories, list) or any(c not in known for c in categories):
        problems.add("customer_categories", f"liste parmi {', '.join(sorted(known))}")
        categories = []
    bands = _bands(data.get("bands"), problems)
    share = None
    if "arrears_recovery_share" in data:
        share = _decimal(data["arrears_recovery_share"], "arrears_recovery_share", problems)
        if payment is not MeterPayment.PREPAID:
            problems.add("arrears_recovery_share", "seulement pour un tarif prépayé")
        elif share is not None and not Decimal(0) <= share < 1:
            problems.add("arrears_recovery_share", "part entre 0 et 1 (0.25 pour 25 %)")
    sts_index = data.get("sts_tariff_index")
    if sts_index is not None and (not isinstance(sts_index, int) or not 0 <= sts_index <= 99):
        problems.add("sts_tariff_index", "entier de 0 à 99")
    agency = data.get("agency")
    if agency is not None and (not isinstance(agency, str) or not agency.isdigit()
                               or len(agency) != 3):
        problems.add("agency", "code agence à 3 chiffres")
    problems.raise_if_any("Tarif")
    assert valid_from is not None and vat is not None
    return TariffSpec(code, name, energy, payment, valid_from, valid_to, fixed_minor, vat,
                      tuple(categories), bands, agency, sts_index, share)


def _bands(raw: Any, problems: _Problems) -> tuple[BandSpec, ...]:
    """Bands sorted as written, contiguous from 0, the last one open, prices positive."""
    if not isinstance(raw, list) or not raw:
        problems.add("bands", "au moins une tranche ([[bands]])")
        return ()
    found: list[BandSpec] = []
    expected = 0
    for number, band in enumerate(raw, start=1):
        where = f"bands[{number}]"
        if not isinstance(band, dict):
            problems.add(where, "table attendue")
            return ()
        for key in sorted(set(band) - _BAND_KEYS):
            problems.add(f"{where}.{key}", "clé inconnue")
        lower, upper = band.get("from"), band.get("to")
        last = number == len(raw)
        if not isinstance(lower, int) or isinstance(lower, bool) or lower != expected:
            problems.add(f"{where}.from",
                         f"doit valoir {expected} (tranches contiguës depuis 0)")
            return ()
        if upper is None and not last:
            problems.add(f"{where}.to", "seule la dernière tranche est ouverte")
            return ()
        if upper is not None and (not isinstance(upper, int) or isinstance(upper, bool)
                                  or upper <= lower):
            problems.add(f"{where}.to", f"entier supérieur à {lower}")
            return ()
        if last and upper is not None:
            problems.add(f"{where}.to", "la dernière tranche est ouverte (pas de « to »)")
        price = _decimal(band.get("price"), f"{where}.price", problems)
        if price is not None and price <= 0:
            problems.add(f"{where}.price", "prix strictement positif")
        if price is not None and price != price.quantize(Decimal("0.0001")):
            problems.add(f"{where}.price", "4 décimales au plus")
        social = band.get("social", False)
        if not isinstance(social, bool) or (social and number != 1):
            problems.add(f"{where}.social", "seule la première tranche peut être sociale")
        found.append(BandSpec(lower, upper, price or Decimal(0), bool(social)))
        expected = upper if upper is not None else expected
    return tuple(found)


def read_tariff_file(path: Path, currency: Currency) -> TariffSpec:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise BusinessError(f"Fichier de tarif illisible : {path} ({error.strerror}).") from error
    except tomllib.TOMLDecodeError as error:
        raise ValidationError({"file": str(error)},
                              f"Fichier de tarif invalide ({path}) : {error}") from error
    return parse_tariff(data, currency)


def _agency_id(session: Session, code: str | None) -> uuid.UUID | None:
    if code is None:
        return None
    found = session.scalars(select(Agency.id).where(Agency.code == code)).first()
    if found is None:
        raise NotFoundError(f"L'agence {code} n'existe pas.")
    return found


def _versions(session: Session, code: str, agency_id: uuid.UUID | None) -> list[Tariff]:
    query = (
        select(Tariff).options(selectinload(Tariff.bands))
        .where(Tariff.code == code,
               Tariff.agency_id.is_(None) if agency_id is None else Tariff.agency_id == agency_id)
        .order_by(Tariff.valid_from)
    )
    return list(session.scalars(query))


def _row(spec: TariffSpec, agency_id: uuid.UUID | None) -> Tariff:
    tariff = Tariff(
        code=spec.code, name=spec.name, energy=spec.energy, payment=spec.payment,
        fixed_charge_minor=spec.fixed_charge_minor, vat_rate=spec.vat_rate,
        valid_from=spec.valid_from, valid_to=spec.valid_to, agency_id=agency_id,
        sts_tariff_index=spec.sts_tariff_index,
        customer_categories=",".join(spec.customer_categories),
        arrears_recovery_share=spec.arrears_recovery_share,
    )
    tariff.bands = [
        TariffBand(lower_bound=b.lower, upper_bound=b.upper, unit_price=b.price,
                   is_social=b.social, agency_id=agency_id)
        for b in spec.bands
    ]
    return tariff


def _info(tariff: Tariff, codes: dict[uuid.UUID, str]) -> TariffVersionInfo:
    return TariffVersionInfo(
        tariff.id, tariff.code, tariff.name, tariff.energy, tariff.payment,
        codes.get(tariff.agency_id) if tariff.agency_id else None,
        tariff.valid_from, tariff.valid_to, tariff.fixed_charge_minor, tariff.vat_rate,
        tuple(c for c in (tariff.customer_categories or "").split(",") if c),
        tuple(BandSpec(b.lower_bound, b.upper_bound, b.unit_price, b.is_social)
              for b in tariff.bands),
        tariff.sts_tariff_index, tariff.arrears_recovery_share,
    )


def _codes(session: Session) -> dict[uuid.UUID, str]:
    return {row[0]: row[1] for row in session.execute(select(Agency.id, Agency.code))}


def add_tariff(db: Database, spec: TariffSpec) -> TariffVersionInfo:
    """A new tariff (its first version). Refused when the code exists: add a version."""
    with UnitOfWork(db, ADMINISTRATION) as uow:
        session = uow.session
        agency_id = _agency_id(session, spec.agency_code)
        if _versions(session, spec.code, agency_id):
            raise BusinessError(f"Le tarif {spec.code} existe déjà : ajoutez-lui une version "
                                f"(python -m central tariff version {spec.code} FICHIER).")
        tariff = _row(spec, agency_id)
        session.add(tariff)
        session.flush()
        info = _info(tariff, _codes(session))
        uow.commit()
    return info


def add_version(db: Database, code: str, spec: TariffSpec) -> TariffVersionInfo:
    """A new version of tariff ``code`` from ``spec.valid_from``. The open version before it is
    closed the day before; a version that would overlap another is refused."""
    code = code.strip().upper()
    if spec.code != code:
        raise ValidationError({"code": f"attendu {code}"},
                              f"Le fichier décrit le tarif {spec.code}, pas {code}.")
    with UnitOfWork(db, ADMINISTRATION) as uow:
        session = uow.session
        agency_id = _agency_id(session, spec.agency_code)
        versions = _versions(session, code, agency_id)
        if not versions:
            raise NotFoundError(f"Le tarif {code} n'existe pas : créez-le d'abord "
                                f"(python -m central tariff add FICHIER).")
        previous = versions[-1]
        if spec.valid_from <= previous.valid_from:
            raise BusinessError(
                f"La version doit commencer après la dernière du tarif {code} "
                f"(en vigueur depuis le {previous.valid_from.isoformat()}) : les versions ne "
                "se chevauchent pas."
            )
        for other in versions[:-1]:
            if other.valid_to is not None and other.valid_to >= spec.valid_from:
                raise BusinessError(
                    f"La version du {other.valid_from.isoformat()} du tarif {code} couvre déjà "
                    f"le {spec.valid_from.isoformat()} : les versions ne se chevauchent pas."
                )
        if previous.valid_to is not None and previous.valid_to >= spec.valid_from:
            raise BusinessError(
                f"La version du {previous.valid_from.isoformat()} du tarif {code} court jusqu'au "
                f"{previous.valid_to.isoformat()} : la nouvelle version ne peut pas commencer "
                "avant."
            )
        if previous.valid_to is None:
            previous.valid_to = spec.valid_from - timedelta(days=1)
        tariff = _row(spec, agency_id)
        session.add(tariff)
        session.flush()
        info = _info(tariff, _codes(session))
        uow.commit()
    return info


def tariff_history(db: Database, code: str, agency_code: str | None = None) -> list[TariffVersionInfo]:
    """Every version of a tariff, oldest first."""
    with db.reading() as session:
        versions = _versions(session, code.strip().upper(), _agency_id(session, agency_code))
        if not versions:
            raise NotFoundError(f"Le tarif {code} n'existe pas.")
        codes = _codes(session)
        return [_info(t, codes) for t in versions]


def tariffs_in_force(db: Database, on: date) -> list[TariffVersionInfo]:
    """The version of every tariff in force on ``on`` (tariffs not in force that day left out)."""
    with db.reading() as session:
        query = (
            select(Tariff).options(selectinload(Tariff.bands))
            .where(Tariff.valid_from <= on,
                   (Tariff.valid_to.is_(None)) | (Tariff.valid_to >= on))
            .order_by(Tariff.code, Tariff.valid_from)
        )
        codes = _codes(session)
        return [_info(t, codes) for t in session.scalars(query)]


def all_tariffs(db: Database) -> list[TariffVersionInfo]:
    with db.reading() as session:
        query = select(Tariff).options(selectinload(Tariff.bands)).order_by(
            Tariff.code, Tariff.valid_from)
        codes = _codes(session)
        return [_info(t, codes) for t in session.scalars(query)]
