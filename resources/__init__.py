"""Files shipped with the program: style sheet, letter templates, fonts."""

from pathlib import Path

RESOURCES = Path(__file__).parent
