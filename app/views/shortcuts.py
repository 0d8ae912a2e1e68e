"""The keyboard shortcuts that belong to no module, declared once: the windows bind them from here
and Aide → Raccourcis lists them. A module's own shortcuts are declared with its page
(``app.views.modules``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    keys: str
    what: str
    where: str = "Partout"


SEARCH = Shortcut("Ctrl+K", "Rechercher un client (barre du haut)")

WINDOW = (
    Shortcut("F5", "Actualiser"),
    Shortcut("Ctrl++", "Agrandir le texte"),
    Shortcut("Ctrl+-", "Réduire le texte"),
    Shortcut("Ctrl+0", "Taille du texte par défaut"),
    Shortcut("Ctrl+Maj+D", "Se déconnecter"),
    Shortcut("Ctrl+Q", "Quitter"),
)

CUSTOMER_FILE = (
    Shortcut("Ctrl+E", "Modifier l'identité", "Dossier client"),
    Shortcut("Ctrl+P", "Encaisser", "Dossier client"),
    Shortcut("Ctrl+L", "Saisir une relève", "Dossier client"),
    Shortcut("Ctrl+M", "Emménagement / déménagement", "Dossier client"),
    Shortcut("Ctrl+Maj+C", "Nouveau courrier", "Dossier client"),
)

FORMS = (
    Shortcut("Entrée", "Valider le formulaire", "Formulaires"),
    Shortcut("Échap", "Annuler et fermer", "Formulaires"),
    Shortcut("Alt+lettre soulignée", "Aller au champ ou au bouton", "Formulaires"),
)

SYNC = (Shortcut("Ctrl+R", "Lancer la synchronisation", "Synchronisation"),)

WORKS = (
    Shortcut("Ctrl+S", "Enregistrer le devis", "Devis"),
    Shortcut("Ctrl+Del", "Supprimer la ligne de devis", "Devis"),
    Shortcut("Ctrl+Maj+E", "Courrier au client sur ce devis (envoi de devis)", "Devis"),
)
