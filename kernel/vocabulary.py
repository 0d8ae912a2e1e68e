"""French words for the business vocabularies, as the screens and documents show them."""

from __future__ import annotations

from enum import Enum

from app.models.enums import (
    AccountStatus,
    ApprovalMethod,
    Civility,
    ConnectionStatus,
    ContractStatus,
    CustomerKind,
    Energy,
    IdentityDocumentType,
    InterventionPriority,
    InterventionStatus,
    InterventionType,
    InvoiceKind,
    MeterPayment,
    MeterStatus,
    PaymentMethod,
    PaymentMode,
    PremiseCategory,
    QuoteStatus,
    ReadingKind,
    ReadingSource,
    RequestChannel,
    Role,
    Skill,
)
from app.models.sync import ConflictChoice, ParkedStatus

_PAIRS: list[tuple[Enum, str]] = [
    (CustomerKind.PERSON, "Particulier"),
    (CustomerKind.ORGANISATION, "Entreprise / organisme"),
    (Civility.MR, "M."),
    (Civility.MRS, "Mme"),
    (Civility.MISS, "Mlle"),
    (Civility.COMPANY, "Sté"),
    (IdentityDocumentType.NATIONAL_ID, "Carte nationale d'identité"),
    (IdentityDocumentType.PASSPORT, "Passeport"),
    (IdentityDocumentType.RESIDENCE_PERMIT, "Carte de séjour"),
    (IdentityDocumentType.CONSULAR_CARD, "Carte consulaire"),
    (IdentityDocumentType.DRIVING_LICENCE, "Permis de conduire"),
    (IdentityDocumentType.TRADE_REGISTER, "Registre du commerce"),
    (AccountStatus.ACTIVE, "Actif"),
    (AccountStatus.SUSPENDED, "Suspendu"),
    (AccountStatus.CLOSED, "Clos"),
    (PaymentMode.CASH, "Espèces au guichet"),
    (PaymentMode.CHEQUE, "Chèque"),
    (PaymentMode.MOBILE_MONEY, "Mobile money"),
    (PaymentMode.TRANSFER, "Virement"),
    (PaymentMode.DIRECT_DEBIT, "Prélèvement"),
    (PaymentMethod.CASH, "Espèces"),
    (PaymentMethod.CHEQUE, "Chèque"),
    (PaymentMethod.MOBILE_MONEY, "Mobile money"),
    (PaymentMethod.TRANSFER, "Virement"),
    (Energy.WATER, "Eau"),
    (Energy.ELECTRICITY, "Électricité"),
    (PremiseCategory.DOMESTIC, "Domestique"),
    (PremiseCategory.COMMERCIAL, "Commercial"),
    (PremiseCategory.INDUSTRIAL, "Industriel"),
    (PremiseCategory.PUBLIC, "Administration / public"),
    (MeterPayment.POSTPAID, "Postpayé"),
    (MeterPayment.PREPAID, "Prépayé"),
    (MeterStatus.IN_STOCK, "En stock"),
    (MeterStatus.INSTALLED, "Posé"),
    (MeterStatus.REMOVED, "Déposé"),
    (ConnectionStatus.REQUESTED, "Demandé"),
    (ConnectionStatus.ACTIVE, "En service"),
    (ConnectionStatus.CUT_OFF, "Coupé"),
    (ConnectionStatus.REMOVED, "Supprimé"),
    (ContractStatus.ACTIVE, "En cours"),
    (ContractStatus.CLOSED, "Résilié"),
    (ReadingSource.AGENT, "Agent"),
    (ReadingSource.CUSTOMER, "Client"),
    (ReadingSource.ESTIMATE, "Estimation"),
    (ReadingKind.REGULAR, "Relève"),
    (ReadingKind.MOVE_IN, "Emménagement"),
    (ReadingKind.MOVE_OUT, "Déménagement"),
    (ReadingKind.METER_INSTALLED, "Pose de compteur"),
    (ReadingKind.METER_REMOVED, "Dépose de compteur"),
    (ReadingKind.ROLLOVER, "Passage par zéro"),
    (InvoiceKind.CONSUMPTION, "Facture"),
    (InvoiceKind.WORKS, "Facture de travaux"),
    (InvoiceKind.CREDIT_NOTE, "Avoir"),
    (QuoteStatus.DRAFT, "Brouillon"),
    (QuoteStatus.SENT, "Envoyé"),
    (QuoteStatus.APPROVED, "Accepté"),
    (QuoteStatus.REFUSED, "Refusé"),
    (QuoteStatus.EXPIRED, "Expiré"),
    (QuoteStatus.ORDERED, "Travaux commandés"),
    (QuoteStatus.INVOICED, "Facturé"),
    (QuoteStatus.CANCELLED, "Annulé"),
    (QuoteStatus.REVISED, "Remplacé par une révision"),
    (ApprovalMethod.IN_PERSON, "Signé au guichet"),
    (ApprovalMethod.SIGNED_PAPER, "Papier signé (scanné)"),
    (Role.AGENT, "Agent"),
    (Role.SUPERVISOR, "Superviseur"),
    (Role.ADMINISTRATOR, "Administrateur"),
    (InterventionType.LEAK, "Fuite sur le réseau"),
    (InterventionType.LEAK_AT_CUSTOMER, "Fuite chez le client"),
    (InterventionType.BREAKDOWN, "Absence de fourniture"),
    (InterventionType.LOW_PRESSURE, "Baisse de pression / tension"),
    (InterventionType.METER_CHECK, "Contrôle d'index contesté"),
    (InterventionType.METER_INSTALL, "Pose de compteur"),
    (InterventionType.METER_CHANGE, "Remplacement de compteur"),
    (InterventionType.METER_REMOVAL, "Dépose de compteur"),
    (InterventionType.DISCONNECTION, "Coupure pour impayé"),
    (InterventionType.RECONNECTION, "Remise en service"),
    (InterventionType.COMPLAINT, "Réclamation qualité"),
    (InterventionType.WORKS, "Travaux sur devis"),
    (InterventionType.OTHER, "Autre"),
    (InterventionType.NEW_CONNECTION, "Nouveau branchement"),
    (InterventionType.PREPAID_TOKEN, "Problème de jeton prépayé"),
    (InterventionPriority.LOW, "Basse"),
    (InterventionPriority.NORMAL, "Normale"),
    (InterventionPriority.HIGH, "Haute"),
    (InterventionPriority.URGENT, "Urgente"),
    (InterventionStatus.NEW, "Nouvelle"),
    (InterventionStatus.SCHEDULED, "Planifiée"),
    (InterventionStatus.IN_PROGRESS, "En cours"),
    (InterventionStatus.DONE, "Terminée"),
    (InterventionStatus.CANCELLED, "Annulée"),
    (InterventionStatus.REOPENED, "Rouverte"),
    (RequestChannel.COUNTER, "Guichet"),
    (RequestChannel.PHONE, "Téléphone"),
    (RequestChannel.FIELD, "Terrain"),
    (RequestChannel.QUOTE, "Devis"),
    (RequestChannel.MAIL, "Courrier"),
    (RequestChannel.TECHNICIAN, "Technicien"),
    (Skill.WATER, "Eau"),
    (Skill.ELECTRICITY, "Électricité"),
    (Skill.METERS, "Compteurs"),
]

#: Keyed by (vocabulary, value): StrEnum members of different vocabularies with the same value
#: compare equal ("active" account and "active" contract), so a plain dict would mix them up.
LABELS: dict[tuple[type[Enum], str], str] = {(type(m), m.value): text for m, text in _PAIRS}

FIELD_LABELS: dict[str, str] = {
    "kind": "Type",
    "civility": "Civilité",
    "last_name": "Nom",
    "first_name": "Prénom",
    "organisation_name": "Raison sociale",
    "phone": "Téléphone fixe",
    "mobile": "Téléphone mobile",
    "email": "E-mail",
    "id_document_type": "Pièce d'identité",
    "id_document_number": "N° de pièce",
    "birth_date": "Date de naissance",
    "notes": "Observations",
    "is_active": "Actif",
    "status": "Statut",
    "payment_mode": "Mode de paiement",
    "number": "Numéro",
    "house_number": "N°",
    "street_id": "Rue",
    "commune_id": "Commune",
    "complement": "Complément d'adresse",
    "end_date": "Date de fin",
    "start_date": "Date de début",
    "index_value": "Index",
    "removed_on": "Déposé le",
    "installed_on": "Posé le",
    "balance_minor": "Solde",
    "balance_as_of": "Solde calculé le",
    "move_in_reading_id": "Relève d'arrivée",
    "move_out_reading_id": "Relève de départ",
    "tariff_id": "Tarif",
    "account_id": "Compte",
    "connection_id": "Branchement",
    "premise_id": "Propriété",
    "billing_premise_id": "Adresse de facturation",
    "meter_id": "Compteur",
    "invoice_id": "Facture réglée",
    "amount_minor": "Montant",
    "method": "Mode",
    "reference": "Référence",
    "is_cancelled": "Annulé",
    "cancel_reason": "Motif d'annulation",
    "cancelled_at": "Annulé le",
    "cancelled_by": "Annulé par",
    "cancellation_document_id": "Bordereau d'annulation",
    "corrected_from_index": "Index saisi à l'origine",
    "on_vacant_premise": "Local vacant",
    "reading_date": "Date de relève",
    "note": "Observation",
    "reprint_count": "Nombre de réimpressions",
    "billed_until": "Facturé jusqu'au",
    "closed_on": "Clos le",
    "opened_on": "Ouvert le",
    "owner_customer_id": "Propriétaire",
    "energy": "Énergie",
    "serial": "N° de compteur",
    "digits": "Nombre de chiffres",
}

TABLE_LABELS: dict[str, str] = {
    "customer": "Client",
    "account": "Compte",
    "premise": "Propriété",
    "service_connection": "Branchement",
    "meter": "Compteur",
    "contract": "Abonnement",
    "meter_reading": "Relève",
    "payment": "Encaissement",
    "invoice": "Facture",
    "document": "Document",
    "tariff": "Tarif",
}


#: A role inside a sentence ("Alice (superviseur)").
ROLE_LABELS: dict[Role, str] = {role: LABELS[Role, role.value].lower() for role in Role}


def label(value: Enum | None) -> str:
    if value is None:
        return ""
    return LABELS.get((type(value), value.value), str(value.value))


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field.replace("_", " "))


def invoice_label(kind: InvoiceKind, energy: Energy | None = None) -> str:
    """"Facture d'eau", "Avoir électricité"…: two invoices of one month say which is which."""
    if kind is InvoiceKind.CONSUMPTION and energy is not None:
        return "Facture d'eau" if energy is Energy.WATER else "Facture d'électricité"
    if kind is InvoiceKind.CREDIT_NOTE and energy is not None:
        return f"Avoir {label(energy).lower()}"
    return label(kind)


#: Quantities' units.
UNITS = {Energy.WATER: "m³", Energy.ELECTRICITY: "kWh"}


# Synchronisation: runs, phases, conflicts, parked rows.

#: The phases of a run in the order they happen, with their names on screen.
PHASE_LABELS: dict[str, str] = {
    "backup": "Sauvegarde",
    "bootstrap": "Amorçage",
    "adoption": "Adoption",
    "upload": "Envoi",
    "close": "Facturation centrale",
    "download": "Réception",
    "reconcile": "Rapprochement",
}

RUN_STATUS_LABELS: dict[str, str] = {
    "running": "En cours",
    "succeeded": "Réussie",
    "failed": "Échouée",
    "interrupted": "Interrompue",
}

PHASE_STATUS_LABELS: dict[str, str] = {
    "running": "En cours",
    "succeeded": "Terminée",
    "done": "Terminée",
    "failed": "Échouée",
    "warning": "Écarts corrigés",
    "skipped": "Sans objet",
    "interrupted": "Interrompue",
}

TRIGGER_LABELS: dict[str, str] = {
    "manual": "Manuelle",
    "scheduled": "Planifiée",
    "scheduler": "Planifiée",
    "command": "Ligne de commande",
    "cli": "Ligne de commande",
}

CONFLICT_CHOICE_LABELS: dict[ConflictChoice, str] = {
    ConflictChoice.CURRENT: "Valeur en place",
    ConflictChoice.INCOMING: "Valeur reçue",
    ConflictChoice.CUSTOM: "Autre valeur",
}

PARKED_STATUS_LABELS: dict[ParkedStatus, str] = {
    ParkedStatus.PARKED: "En attente",
    ParkedStatus.RETRY: "À réessayer",
    ParkedStatus.APPLIED: "Appliquée",
    ParkedStatus.DISCARDED: "Abandonnée",
}

#: What a parked row would have done.
OPERATION_LABELS = {"insert": "Création", "update": "Modification", "delete": "Suppression"}

#: Columns that appear in synchronised rows beyond those the customer screens name.
SYNC_FIELD_LABELS = {
    "read_on": "Date de relève",
    "amount_minor": "Montant",
    "paid_at": "Date d'encaissement",
    "meter_id": "Compteur",
    "account_id": "Compte",
    "customer_id": "Client",
    "premise_id": "Propriété",
    "connection_id": "Branchement",
    "contract_id": "Abonnement",
    "tariff_id": "Tarif",
    "method": "Moyen de paiement",
    "reference": "Référence",
    "*": "Suppression de la ligne",
}


def sync_field_label(field: str) -> str:
    return SYNC_FIELD_LABELS.get(field) or field_label(field)


def phase_label(name: str) -> str:
    return PHASE_LABELS.get(name, name.replace("_", " ").capitalize())


def table_label(name: str) -> str:
    return TABLE_LABELS.get(name, name.replace("_", " "))
