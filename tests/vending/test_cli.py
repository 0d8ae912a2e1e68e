"""``python -m central operator …`` and ``vending block``: the credential is printed once and
only its hash is kept; limits in major units; a revoked or replaced credential stops."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from central.cli import main
from central.credentials import hash_secret
from central.models import VendingOperator
from central.vending.operators import authenticate_operator

from .world import DRN_A, VendingWorld


def run(url: str, tmp_path: Path, *args: str) -> int:
    return main(["--database-url", url, "--data-dir", str(tmp_path), *args])


def test_operator_commands(world: VendingWorld, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    url = world.db.url
    assert run(url, tmp_path, "operator", "add", "moov", "--name", "Moov Money", "--min", "200",
               "--max", "100000", "--daily-max", "300000") == 0
    out = capsys.readouterr().out
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("gop1.moov.") and "affiché une seule fois" in out
    assert "min 200" in out.replace("\u202f", " ").replace("\xa0", " ")
    with world.db.reading() as session:
        row = session.scalars(select(VendingOperator)).one()
    assert row.secret_hash == hash_secret(secret) and secret not in repr(row.__dict__)
    assert (row.min_amount_minor, row.max_amount_minor, row.max_payer_day_minor) == (
        200, 100_000, 300_000)
    assert authenticate_operator(world.db, secret) is not None
    assert run(url, tmp_path, "operator", "add", "moov") == 1, "exists already"
    assert "existe déjà" in capsys.readouterr().err
    assert run(url, tmp_path, "operator", "limits", "moov", "--min", "500000") == 1
    assert "Limites invalides" in capsys.readouterr().err
    assert run(url, tmp_path, "operator", "credential", "moov") == 0
    fresh = capsys.readouterr().out.strip().splitlines()[-1]
    assert authenticate_operator(world.db, secret) is None, "the old one stops at once"
    assert authenticate_operator(world.db, fresh) is not None
    assert run(url, tmp_path, "operator", "revoke", "moov") == 0
    assert authenticate_operator(world.db, fresh) is None
    assert run(url, tmp_path, "operator", "list") == 0
    assert "révoqué" in capsys.readouterr().out
    assert run(url, tmp_path, "vending", "block", DRN_A, "--reason", "fraude") == 0
    assert run(url, tmp_path, "vending", "block", "47100000067", "--reason", "x") == 1
    assert capsys.readouterr().err.strip().endswith("Compteur 47100000067 inconnu.")
