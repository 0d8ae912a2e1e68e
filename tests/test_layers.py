"""The layering rules of docs/architecture.md are checked, not wished: import-linter contracts in pyproject."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 kept, 0 broken" in result.stdout
    for contract in (
        "Central imports only kernel, app.models and itself KEPT",
        "Kernel imports only app.models and libraries (no desk, no central, no Qt) KEPT",
        "The desk reaches central only through the seam app.sync.embedded_central KEPT",
    ):
        assert contract in result.stdout


def test_the_desk_only_contracts_name_every_desk_module() -> None:
    """A new module of app is forbidden to central and kernel as soon as it exists."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    by_name = {c["name"]: c for c in contracts["tool"]["importlinter"]["contracts"]}
    desk = {
        f"app.{path.stem if path.suffix else path.name}"
        for path in (ROOT / "app").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    } - {"app.models"}
    for name in ("Central imports only kernel, app.models and itself",
                 "Kernel imports only app.models and libraries (no desk, no central, no Qt)"):
        assert desk <= set(by_name[name]["forbidden_modules"]), name
