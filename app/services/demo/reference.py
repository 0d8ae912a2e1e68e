"""Reference data of the demo installation: agency, users, communes and streets, tariffs,
works catalogue, technicians. Central owns these; the demo makes them so a desk works alone."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy.orm import Session

from app.models import (
    Agency,
    Commune,
    InterventionDeadline,
    PublicHoliday,
    Street,
    Synced,
    Tariff,
    TariffBand,
    Technician,
    TechnicianTeam,
    User,
    WorkingHours,
    WorksCatalogueItem,
)
from app.models.enums import (
    Energy,
    InterventionPriority,
    InterventionType,
    MeterPayment,
    Role,
)
from app.services.demo.names import COMMUNES, STREET_KINDS, STREET_NAMES
from kernel.money import Currency
from kernel.passwords import hash_password

T = TypeVar("T", bound=Synced)

#: Demo users: user name, full name, role, password (given in README.md).
DEMO_USERS = (
    ("admin", "Aristide BROU", Role.ADMINISTRATOR, "Guichet-Admin-2026"),
    ("superviseur", "Awa KONÉ", Role.SUPERVISOR, "Guichet-Sup-2026"),
    ("agent", "Yao KOUASSI", Role.AGENT, "Guichet-Agent-2026"),
)

#: One XOF is worth 1/655.957 EUR: the demo converts its XOF prices when installed in EUR.
_XOF_PER_EUR = Decimal("655.957")


def _price(xof: Decimal, currency: Currency) -> Decimal:
    if currency.code == "XOF":
        return xof
    return (xof / _XOF_PER_EUR).quantize(Decimal("0.0001"))


def _minor(xof: int, currency: Currency) -> int:
    return currency.to_minor(_price(Decimal(xof), currency))


class Stamper:
    """Deterministic identities and creation times, so that the same seed gives the same rows."""

    def __init__(self, rng: random.Random, at: datetime) -> None:
        self.rng = rng
        self.at = at

    def __call__(self, row: T) -> T:
        row.id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        row.created_at = row.updated_at = self.at
        return row


@dataclass
class DemoReference:
    agency: Agency
    communes: list[Commune]
    streets_by_commune: dict[str, list[Street]]
    tariffs: dict[tuple[Energy, MeterPayment], Tariff]


def _tariff(
    code: str,
    name: str,
    energy: Energy,
    payment: MeterPayment,
    fixed_xof: int,
    bands: list[tuple[int, int | None, str]],
    currency: Currency,
    stamp: Stamper,
    sts_ti: int | None = None,
) -> Tariff:
    tariff = stamp(
        Tariff(
            code=code,
            name=name,
            energy=energy,
            payment=payment,
            fixed_charge_minor=_minor(fixed_xof, currency),
            vat_rate=Decimal("0.18") if currency.code == "XOF" else Decimal("0.20"),
            valid_from=date(2020, 1, 1),
            valid_to=None,
            sts_tariff_index=sts_ti,
        )
    )
    tariff.bands = [
        stamp(TariffBand(lower_bound=lo, upper_bound=hi, unit_price=_price(Decimal(p), currency)))
        for lo, hi, p in bands
    ]
    return tariff


def build_reference(
    session: Session, agency_code: str, currency: Currency, rng: random.Random, at: datetime
) -> DemoReference:
    stamp = Stamper(rng, at)
    agency = stamp(
        Agency(
            code=agency_code,
            name="Agence de Cocody",
            address="Boulevard de France, Cocody, Abidjan",
            phone="27 22 44 10 10",
            email="agence.cocody@guichet.example",
        )
    )
    session.add(agency)
    session.flush()
    for username, full_name, role, password in DEMO_USERS:
        session.add(
            stamp(
                User(
                    username=username,
                    full_name=full_name,
                    role=role,
                    password_hash=hash_password(password),
                    agency_id=agency.id if role is not Role.ADMINISTRATOR else None,
                    # Their passwords are published in the README: they stay on this desk.
                    desk_only=True,
                )
            )
        )
    communes: list[Commune] = []
    streets: dict[str, list[Street]] = {}
    for code, name, postal in COMMUNES:
        commune = stamp(Commune(code=code, name=name, postal_code=postal))
        session.add(commune)
        communes.append(commune)
        chosen = rng.sample(STREET_NAMES, 24)
        streets[code] = [
            stamp(Street(commune=commune, name=f"{rng.choice(STREET_KINDS)} {street}"))
            for street in chosen
        ]
        session.add_all(streets[code])
    tariffs = {
        (Energy.WATER, MeterPayment.POSTPAID): _tariff(
            "EAU-DOM",
            "Eau — usage domestique",
            Energy.WATER,
            MeterPayment.POSTPAID,
            1500,
            [(0, 10, "245"), (10, 30, "445"), (30, None, "690")],
            currency,
            stamp,
        ),
        (Energy.ELECTRICITY, MeterPayment.POSTPAID): _tariff(
            "ELEC-DOM",
            "Électricité — domestique basse tension",
            Energy.ELECTRICITY,
            MeterPayment.POSTPAID,
            2100,
            [(0, 110, "62.5"), (110, 400, "84.75"), (400, None, "104")],
            currency,
            stamp,
        ),
        (Energy.ELECTRICITY, MeterPayment.PREPAID): _tariff(
            "ELEC-PRE",
            "Électricité — prépayé",
            Energy.ELECTRICITY,
            MeterPayment.PREPAID,
            0,
            [(0, None, "79.5")],
            currency,
            stamp,
            sts_ti=1,
        ),
    }
    session.add_all(tariffs.values())
    for code, label, category, energy, unit, xof in (
        (
            "BR-EAU-15",
            "Branchement eau DN 15 (jusqu'à 10 m)",
            "Branchement",
            Energy.WATER,
            "u",
            148_000,
        ),
        (
            "BR-EAU-20",
            "Branchement eau DN 20 (jusqu'à 10 m)",
            "Branchement",
            Energy.WATER,
            "u",
            186_000,
        ),
        (
            "BR-ELEC-MONO",
            "Branchement électrique monophasé",
            "Branchement",
            Energy.ELECTRICITY,
            "u",
            165_000,
        ),
        (
            "BR-ELEC-TRI",
            "Branchement électrique triphasé",
            "Branchement",
            Energy.ELECTRICITY,
            "u",
            312_000,
        ),
        ("TR-ML", "Tranchée et remblai (par mètre)", "Génie civil", None, "m", 6_500),
        ("TR-CHAUSSEE", "Traversée de chaussée (par mètre)", "Génie civil", None, "m", 18_000),
        ("DEP-CPT", "Déplacement de compteur", "Compteur", None, "u", 35_000),
        ("POSE-CPT-PRE", "Pose d'un compteur prépayé", "Compteur", Energy.ELECTRICITY, "u", 42_000),
        ("ETAL-CPT", "Vérification d'un compteur sur banc", "Compteur", None, "u", 15_000),
        (
            "REPR-FUITE",
            "Réparation de fuite après compteur",
            "Dépannage",
            Energy.WATER,
            "u",
            22_500,
        ),
        ("COUPURE", "Coupure à la demande de l'abonné", "Intervention", None, "u", 5_000),
        ("REMISE", "Remise en service", "Intervention", None, "u", 7_500),
        (
            "CABLE-16",
            "Câble aluminium 16 mm² (par mètre)",
            "Fournitures",
            Energy.ELECTRICITY,
            "m",
            1_850,
        ),
        ("PEHD-25", "Tube PEHD 25 mm (par mètre)", "Fournitures", Energy.WATER, "m", 1_200),
        ("COFFRET", "Coffret de comptage", "Fournitures", Energy.ELECTRICITY, "u", 28_000),
    ):
        session.add(
            stamp(
                WorksCatalogueItem(
                    code=code,
                    label=label,
                    category=category,
                    energy=energy,
                    unit=unit,
                    unit_price_minor=_minor(xof, currency),
                    vat_rate=Decimal("0.18") if currency.code == "XOF" else Decimal("0.20"),
                )
            )
        )
    # A stamper of its own: the shared one's draws make the demo customers.
    ours = Stamper(random.Random(f"interventions-{agency_code}"), at)
    water_team = ours(TechnicianTeam(name="Équipe eau", agency_id=agency.id))
    power_team = ours(TechnicianTeam(name="Équipe électricité", agency_id=agency.id))
    session.add_all([water_team, power_team])
    session.flush()
    for name, phone, speciality, skills in (
        ("Seydou DIARRASSOUBA", "0707112233", Energy.WATER, "water,meters"),
        ("Hervé GNAGNE", "0505223344", Energy.ELECTRICITY, "electricity,meters"),
        ("Lassina SORO", "0101334455", Energy.ELECTRICITY, "electricity"),
        ("Théodore AKA", "0707445566", Energy.WATER, "water"),
        ("Célestine YAPI", "0505556677", None, "water,electricity,meters"),
        ("Joël ZADI", "0101667788", Energy.ELECTRICITY, "electricity,meters"),
    ):
        team = power_team if speciality is Energy.ELECTRICITY else water_team
        session.add(
            stamp(Technician(name=name, phone=phone, speciality=speciality, agency_id=agency.id,
                             skills=skills, team_id=team.id))
        )
    for row in intervention_reference():
        session.add(ours(row))
    session.flush()
    from app.services.letters.templates import install_shipped

    install_shipped(session, revised_by="Siège (modèle fourni)")
    return DemoReference(agency, communes, streets, tariffs)


#: Working hours allowed at normal priority; urgent is a quarter, high a half, low double.
NORMAL_DEADLINE_HOURS = {
    InterventionType.LEAK: 8,
    InterventionType.LEAK_AT_CUSTOMER: 16,
    InterventionType.BREAKDOWN: 8,
    InterventionType.LOW_PRESSURE: 24,
    InterventionType.METER_CHECK: 40,
    InterventionType.METER_INSTALL: 40,
    InterventionType.METER_CHANGE: 40,
    InterventionType.METER_REMOVAL: 40,
    InterventionType.DISCONNECTION: 24,
    InterventionType.RECONNECTION: 8,
    InterventionType.COMPLAINT: 40,
    InterventionType.WORKS: 80,
    InterventionType.OTHER: 40,
}
HOLIDAYS = (
    (date(2026, 1, 1), "Jour de l'an"), (date(2026, 4, 6), "Lundi de Pâques"),
    (date(2026, 5, 1), "Fête du travail"), (date(2026, 5, 14), "Ascension"),
    (date(2026, 5, 25), "Lundi de Pentecôte"), (date(2026, 8, 7), "Fête nationale"),
    (date(2026, 8, 15), "Assomption"), (date(2026, 11, 1), "Toussaint"),
    (date(2026, 11, 15), "Journée nationale de la paix"), (date(2026, 12, 25), "Noël"),
    (date(2027, 1, 1), "Jour de l'an"), (date(2027, 3, 29), "Lundi de Pâques"),
    (date(2027, 5, 1), "Fête du travail"),
)


def intervention_reference() -> list[Synced]:
    """Central's reference data for the interventions: deadlines per kind and priority,
    opening hours (Monday to Friday, 07:30–12:00 and 13:00–16:30), public holidays."""
    rows: list[Synced] = []
    for kind, hours in NORMAL_DEADLINE_HOURS.items():
        for priority, allowed in (
            (InterventionPriority.URGENT, max(2, hours // 4)),
            (InterventionPriority.HIGH, max(4, hours // 2)),
            (InterventionPriority.NORMAL, hours),
            (InterventionPriority.LOW, hours * 2),
        ):
            rows.append(InterventionDeadline(type=kind, priority=priority, working_hours=allowed))
    for weekday in range(5):
        rows.append(WorkingHours(weekday=weekday, opens_minute=450, closes_minute=720))
        rows.append(WorkingHours(weekday=weekday, opens_minute=780, closes_minute=990))
    rows.extend(PublicHoliday(day=day, name=name) for day, name in HOLIDAYS)
    return rows
