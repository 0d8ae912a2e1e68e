from pathlib import Path

import pytest
from pydantic import ValidationError

from app.cli import _parser, load_settings
from app.settings import Settings


def test_defaults_use_a_sqlite_file_in_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'guichet.sqlite3').as_posix()}"
    assert (settings.currency, settings.currency_exponent) == ("XOF", 0)


def test_environment_then_flags_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GUICHET_CURRENCY", "eur")
    monkeypatch.setenv("GUICHET_AGENCY_CODE", "205")
    monkeypatch.setenv("GUICHET_DATA_DIR", str(tmp_path))
    assert Settings().currency == "EUR" and Settings().currency_exponent == 2
    args = _parser().parse_args(["--agency", "310", "--timezone", "Europe/Paris", "db", "current"])
    settings = load_settings(args)
    assert (settings.agency_code, settings.timezone, settings.currency) == ("310", "Europe/Paris", "EUR")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("currency", "ABC", "devise"), ("timezone", "Mars/Olympus", "fuseau"), ("agency_code", "12", "3 chiffres")],
)
def test_bad_settings_are_refused_in_french(field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value})
