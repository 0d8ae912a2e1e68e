"""``python -m central.meters enter|state|list`` on a fleet file, without the server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from central.meters import Fleet

from .conftest import DRN_A
from .test_fleet import credit

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}
    return subprocess.run([sys.executable, "-m", "central.meters", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_keypad_state_and_list(fleet: Fleet, tmp_path: Path) -> None:
    store = str(fleet.store.path)
    token = credit(DRN_A, "12.5")
    grouped = [token[i:i + 4] for i in range(0, 20, 4)]
    typed = _run("--store", store, "enter", DRN_A, *grouped)
    assert (typed.returncode, typed.stdout.splitlines()[0]) == (0, "Crédit accepté : +12.5 kWh.")
    again = _run("--store", store, "enter", DRN_A, token)
    assert again.returncode == 1 and "déjà utilisé" in again.stdout
    state = _run("--store", store, "state", DRN_A)
    assert state.returncode == 0
    assert f"Compteur {DRN_A}" in state.stdout and "mémoire TID : 1/3" in state.stdout
    assert "refus :" in state.stdout and "Jeton refusé : déjà utilisé" in state.stdout
    listed = _run("--store", store, "list")
    assert DRN_A in listed.stdout and "12.500 kWh" in listed.stdout
    unknown = _run("--store", store, "state", "47100000034")
    assert unknown.returncode == 1 and "Compteur inconnu" in unknown.stderr
    no_keys = _run("--data-dir", str(tmp_path), "serve")
    assert no_keys.returncode == 2 and "--vending-key-dir" in no_keys.stderr
