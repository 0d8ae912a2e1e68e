"""How a module appears in the program: a ``Page`` in the main window (sidebar, shortcut, Aide →
Raccourcis clavier) and ``FileTab``s in the customer file, declared once in a ``Registry``.

A page or a tab is a QWidget subclass that also implements the protocol (``as_widget`` returns
itself: Python types have no "QWidget and Page"). The standard modules are declared in
``app.views.modules``; a shortcut used twice is refused when the second one is registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from PySide6.QtCore import SignalInstance
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QWidget

from app.models.enums import Role
from app.services.customer_file import CustomerFile
from app.views.shortcuts import CUSTOMER_FILE, FORMS, SEARCH, WINDOW, Shortcut
from kernel.context import ServiceContext

if TYPE_CHECKING:
    from app.views.customers.file_view import CustomerFileView
    from app.views.shell import Shell

ALL_ROLES = frozenset(Role)


class Page(Protocol):
    """A module's screen in the main window."""

    def as_widget(self) -> QWidget:
        """The widget put in the window (the page itself)."""
        ...

    def activated(self) -> None:
        """Shown by its shortcut: put the cursor where work starts."""
        ...

    def refresh(self) -> None:
        """F5: read again what is shown."""
        ...

    def closing(self) -> None:
        """The window closes (sign-out, quit): stop what the page runs."""
        ...


class FileTab(Protocol):
    """A tab of the customer file, built the first time it is shown."""

    def as_widget(self) -> QWidget: ...

    def show_file(self, file: CustomerFile) -> None:
        """The file was (re)loaded: show it."""
        ...


P = TypeVar("P", bound=Page)
T = TypeVar("T", bound=FileTab)


@dataclass(frozen=True)
class PageAction(Generic[P]):
    """A window-wide shortcut that shows the page, then acts on it (works wherever the focus is)."""

    keys: str
    what: str
    run: Callable[[P], None]


@dataclass(frozen=True)
class StatusWarning(Generic[P]):
    """A warning the page raises in the status bar: ``signal(page)`` emits the reason (empty: no
    warning), the status bar shows ``title`` as a link to the page and the reason in its tip."""

    title: str
    signal: Callable[[P], SignalInstance]
    object_name: str = "statusWarning"


@dataclass(frozen=True)
class HomeTile:
    """A figure the module shows on the home page (Accueil): ``read(ctx)`` runs in the background
    with the home page's other figures and returns the text of the card."""

    title: str
    read: Callable[[ServiceContext], str]


@dataclass(frozen=True)
class PageEntry(Generic[P]):
    """A module's page: its sidebar title, the shortcut that opens it, who sees it.

    ``shortcuts`` are the ones the page binds inside itself (listed and checked for conflicts);
    ``search`` answers the global search box (one page does); ``tiles`` are its cards on the
    home page."""

    title: str
    keys: str
    what: str
    build: Callable[[Shell], P]
    roles: frozenset[Role] = ALL_ROLES
    actions: tuple[PageAction[P], ...] = ()
    shortcuts: tuple[Shortcut, ...] = ()
    search: Callable[[P, str], None] | None = None
    warning: StatusWarning[P] | None = None
    tiles: tuple[HomeTile, ...] = ()

    def mount(self, shell: Shell) -> MountedPage:
        page = self.build(shell)
        search = self.search
        return MountedPage(
            entry=self,
            page=page,
            actions=tuple((a, _bind(a.run, page)) for a in self.actions),
            search=(lambda text: search(page, text)) if search is not None else None,
            warning=self.warning.signal(page) if self.warning is not None else None,
        )


def _bind(run: Callable[[P], None], page: P) -> Callable[[], None]:
    return lambda: run(page)


@dataclass(frozen=True)
class MountedPage:
    """A page built for one window, its actions bound to it."""

    entry: PageEntry[Any]
    page: Page
    actions: tuple[tuple[PageAction[Any], Callable[[], None]], ...]
    search: Callable[[str], None] | None
    warning: SignalInstance | None

    @property
    def widget(self) -> QWidget:
        return self.page.as_widget()


@dataclass(frozen=True)
class FileTabEntry(Generic[T]):
    """A customer-file tab; ``keys`` (optional) is a shortcut that shows it in the open file."""

    title: str
    build: Callable[[CustomerFileView], T]
    roles: frozenset[Role] = ALL_ROLES
    keys: str = ""
    what: str = ""


class ShortcutConflict(ValueError):
    """Two declarations bind the same keys."""


def normal_keys(keys: str) -> str:
    """The keys as Qt reads them, whatever the spelling ("Ctrl+Maj+D" is "Ctrl+Shift+D")."""
    return QKeySequence(keys.replace("Maj+", "Shift+")).toString(
        QKeySequence.SequenceFormat.PortableText
    )


@dataclass
class Registry:
    """The one list of the program's pages and customer-file tabs.

    ``fixed`` are the main window's own shortcuts (F5, zoom, sign out, quit) after the global
    search; ``customer_file`` those of the customer file's counter actions."""

    fixed: tuple[Shortcut, ...] = WINDOW
    customer_file: tuple[Shortcut, ...] = CUSTOMER_FILE
    pages: list[PageEntry[Any]] = field(default_factory=list)
    file_tabs: list[FileTabEntry[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._taken: dict[str, str] = {}
        for shortcut in (SEARCH, *self.fixed, *self.customer_file):
            self._take(shortcut.keys, shortcut.what)
        pages, tabs = list(self.pages), list(self.file_tabs)
        self.pages, self.file_tabs = [], []
        for page in pages:
            self.add_page(page)
        for tab in tabs:
            self.add_file_tab(tab)

    def _take(self, keys: str, what: str) -> None:
        if not keys:
            return
        normal = normal_keys(keys)
        if normal in self._taken:
            raise ShortcutConflict(
                f"Le raccourci {normal} est déjà pris par « {self._taken[normal]} » : "
                f"il ne peut pas servir aussi à « {what} »."
            )
        self._taken[normal] = what

    def _take_all(self, declared: Iterable[tuple[str, str]]) -> None:
        added: list[str] = []
        try:
            for keys, what in declared:
                self._take(keys, what)
                added.append(normal_keys(keys))
        except ShortcutConflict:
            for normal in added:  # nothing half registered
                del self._taken[normal]
            raise

    def add_page(self, entry: PageEntry[Any]) -> None:
        self._take_all(
            [(entry.keys, entry.what)]
            + [(a.keys, a.what) for a in entry.actions]
            + [(s.keys, s.what) for s in entry.shortcuts]
        )
        self.pages.append(entry)

    def add_file_tab(self, entry: FileTabEntry[Any]) -> None:
        self._take_all([(entry.keys, entry.what or entry.title.replace("&", ""))])
        self.file_tabs.append(entry)

    def pages_for(self, role: Role | None) -> list[PageEntry[Any]]:
        return [p for p in self.pages if role in p.roles]

    def tiles_for(self, role: Role | None) -> list[HomeTile]:
        return [t for p in self.pages_for(role) for t in p.tiles]

    def file_tabs_for(self, role: Role | None) -> list[FileTabEntry[Any]]:
        return [t for t in self.file_tabs if role in t.roles]

    def shortcuts(self, role: Role | None) -> list[Shortcut]:
        """Aide → Raccourcis clavier: what this person can use, window first."""
        pages = self.pages_for(role)
        listed = [SEARCH]
        listed += [Shortcut(a.keys, a.what) for p in pages for a in p.actions]
        listed += [Shortcut(p.keys, p.what) for p in pages]
        listed += list(self.fixed)
        listed += list(self.customer_file)
        listed += [
            Shortcut(t.keys, t.what or t.title.replace("&", ""), "Dossier client")
            for t in self.file_tabs_for(role)
            if t.keys
        ]
        listed += [s for p in pages for s in p.shortcuts]
        return listed + list(FORMS)

