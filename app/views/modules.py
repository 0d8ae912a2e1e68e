"""The program's modules, declared once: the pages of the sidebar (with their shortcuts and the
roles that see them) and the tabs of the customer file. A new module adds its entries here."""

from __future__ import annotations

from app.models.enums import Role
from app.views.pages import (
    FileTabEntry,
    HomeTile,
    PageAction,
    PageEntry,
    Registry,
    StatusWarning,
)
from app.views.shortcuts import SYNC, WORKS

SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


def standard_registry() -> Registry:
    from app.services.works.lists import quotes_to_follow_up
    from app.views.customers.file_tabs import AccountsTab, HistoryTab, IdentityTab, PremisesTab
    from app.views.customers.page import ClientsPage
    from app.views.home_page import HomePage
    from app.views.interventions.common import PAGE_KEYS, PLANNING_KEYS, overdue_tile
    from app.views.interventions.file_tab import InterventionsTab
    from app.views.interventions.page import InterventionsPage
    from app.views.interventions.planning_page import PlanningPage
    from app.views.letters.batch_page import BatchPage
    from app.views.letters.letters_tab import LettersTab
    from app.views.prepaid.cashup import CLOSING_KEYS
    from app.views.prepaid.lookup import PrepaidTab, TokenLookupPage
    from app.views.prepaid.page import PrepaidPage
    from app.views.supplier_invoices_page import SupplierInvoicesPage
    from app.views.sync.page import SyncPage
    from app.views.users_page import LockedUsersPage
    from app.views.works.file_tab import WorksTab
    from app.views.works.page import QuotesPage

    return Registry(
        pages=[
            PageEntry("Accueil", "Ctrl+1", "Module Accueil", HomePage),
            PageEntry(
                "Clients", "Ctrl+2", "Module Clients, curseur dans la recherche", ClientsPage,
                actions=(
                    PageAction("Ctrl+F", "Rechercher un client dans le module Clients",
                               ClientsPage.focus_search),
                    PageAction("Ctrl+N", "Nouveau client", ClientsPage.new_customer),
                    PageAction("Ctrl+W", "Fermer le dossier client affiché",
                               ClientsPage.close_current),
                ),
                search=ClientsPage.search,
            ),
            PageEntry(
                "Devis", "Ctrl+3", "Module Devis, curseur dans la recherche des devis",
                QuotesPage,
                actions=(PageAction("Ctrl+Maj+N", "Nouveau devis", QuotesPage.new_quote),),
                shortcuts=WORKS,
                tiles=(HomeTile("Devis à relancer", quotes_to_follow_up),),
            ),
            PageEntry(
                "Interventions", "Ctrl+4", "Module Interventions (demandes)", InterventionsPage,
                shortcuts=tuple(PAGE_KEYS.values()),
                warning=StatusWarning("Interventions en retard", lambda p: p.overdue_changed,
                                      "statusInterventionsWarning"),
                tiles=(HomeTile("Interventions en retard", overdue_tile),),
            ),
            PageEntry("Planning", "F9", "Module Planning des interventions", PlanningPage,
                      shortcuts=PLANNING_KEYS),
            PageEntry("Factures fournisseurs", "Ctrl+5", "Module Factures fournisseurs",
                      SupplierInvoicesPage),
            PageEntry("Courriers", "Ctrl+6", "Module Courriers (courriers en nombre)", BatchPage),
            PageEntry("Prépayé", "Ctrl+7",
                      "Module Prépayé : vente de crédit au guichet, curseur sur le compteur",
                      PrepaidPage,
                      actions=(PageAction("Ctrl+Maj+T", "Jeton de gestion (superviseur) : "
                                          "remise à zéro, fraude, puissance, changement de clé",
                                          PrepaidPage.management_token),
                               PageAction("Ctrl+Maj+K", "Arrêté de caisse : ventes et paiements "
                                          "du jour, espèces comptées, écart, comptage soumis "
                                          "au superviseur", PrepaidPage.cashup),
                               PageAction(CLOSING_KEYS, "Clôture des caisses de l'agence "
                                          "(superviseur) : attendu, compté, écart par agent",
                                          PrepaidPage.close_tills))),
            PageEntry("Jetons", "Ctrl+Maj+J",
                      "Module Jetons : retrouver une recharge, duplicata du reçu",
                      TokenLookupPage,
                      actions=(PageAction("Ctrl+Maj+X", "Expliquer pourquoi le compteur refuse "
                                          "un code (module Jetons)",
                                          TokenLookupPage.explain_refusal),)),
            PageEntry("Comptes verrouillés", "Ctrl+8", "Module Comptes verrouillés",
                      LockedUsersPage, roles=SUPERVISORS),
            PageEntry(
                "Synchronisation", "Ctrl+9", "Module Synchronisation", SyncPage,
                shortcuts=SYNC,
                warning=StatusWarning("Nuit non synchronisée", lambda p: p.warning_changed,
                                      "statusSyncWarning"),
            ),
        ],
        file_tabs=[
            FileTabEntry("&Identité", IdentityTab),
            FileTabEntry("Comptes et &relevé", AccountsTab),
            FileTabEntry("&Propriétés et compteurs", PremisesTab),
            FileTabEntry("&Historique", HistoryTab),
            FileTabEntry("De&vis", WorksTab),
            FileTabEntry("Co&urriers", LettersTab),
            FileTabEntry("Interventi&ons", InterventionsTab, keys="Ctrl+I",
                         what="Demandes d'intervention du client (dossier client)"),
            FileTabEntry("Prépa&yé", PrepaidTab),
        ],
    )
