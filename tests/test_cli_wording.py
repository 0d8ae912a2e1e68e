"""Every command line of the project speaks the same French (kernel.cli): help headings, usage
prefix, and one translated line for a mistake."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from app.cli import _parser as desk_parser
from central.cli import build_parser as central_parser
from central.meters.cli import build_parser as meters_parser
from central.sts.cli import build_parser as sts_parser

PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "desk": desk_parser, "central": central_parser, "sts": sts_parser, "meters": meters_parser,
}


@pytest.mark.parametrize("name", PARSERS)
def test_help_is_in_french(name: str) -> None:
    shown = PARSERS[name]().format_help()
    assert shown.startswith("utilisation : ")
    assert "options:" in shown and "afficher cette aide" in shown
    assert "usage:" not in shown and "show this help message" not in shown


@pytest.mark.parametrize("name", PARSERS)
def test_a_mistake_is_one_french_line(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        PARSERS[name]().parse_args(["--no-such-option"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "erreur d'utilisation : " in err
    assert "unrecognized" not in err and "required" not in err and "invalid choice" not in err
