"""argparse in French, for every command line of the project (the desk's, central's, the STS
engine's, the meter fleet's): help headings, usage prefix, and one French line (exit 2) for a
mistake on the command line."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn

#: argparse's English messages, most precise first; the last one catches any other argument error.
_TRANSLATIONS = (
    (r"the following arguments are required: (.*)", r"arguments obligatoires manquants : \1"),
    (r"unrecognized arguments: (.*)", r"arguments inconnus : \1"),
    (r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)",
     r"argument \1 : choix invalide \2 (possibles : \3)"),
    (r"argument (\S+): not allowed with argument (\S+)",
     r"argument \1 : incompatible avec \2"),
    (r"argument (\S+): invalid (\S+) value: (.*)", r"argument \1 : valeur invalide \3"),
    (r"argument (\S+): expected one argument", r"argument \1 : une valeur est attendue"),
    (r"argument (\S+): (.*)", r"argument \1 : \2"),
)


def french(message: str) -> str:
    """argparse's error message in French (unchanged when it is none of argparse's)."""
    for pattern, replacement in _TRANSLATIONS:
        translated, count = re.subn(pattern, replacement, message)
        if count:
            return translated
    return message


class FrenchHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage: str | None, actions: Any, groups: Any,
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "utilisation : " if prefix is None else prefix)


class FrenchRawDescriptionHelpFormatter(argparse.RawDescriptionHelpFormatter, FrenchHelpFormatter):
    """Keeps the line breaks of descriptions and epilogs."""


class FrenchParser(argparse.ArgumentParser):
    """Help headings in French; a mistake prints ``<who> : erreur d'utilisation : … (voir …)``
    on stderr and exits 2. ``who`` is the program (``prog``) unless a subclass names it."""

    #: The help layout of this parser and of its sub-command parsers.
    formatter: type[argparse.HelpFormatter] = FrenchHelpFormatter
    #: The name that starts an error line (None: the parser's ``prog``).
    who: str | None = None
    #: Where the error line sends the reader ("--help"; with ``prog_in_hint``, "<prog> --help").
    prog_in_hint = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", self.formatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "arguments"
        self._optionals.title = "options"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help="afficher cette aide")

    def error(self, message: str) -> NoReturn:
        hint = f"{self.prog} --help" if self.prog_in_hint else "--help"
        print(f"{self.who or self.prog} : erreur d'utilisation : {french(message)} (voir {hint})",
              file=sys.stderr)
        raise SystemExit(2)
