"""The launcher ``./guichet`` (bash): what it checks before it installs anything."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "guichet"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the bash launcher")


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_an_old_python_is_refused_first_in_one_line(tmp_path: Path) -> None:
    """Python 3.10 made pip search for a quarter of an hour: the launcher says so at once."""
    old = executable(tmp_path / "python3.10", "#!/bin/sh\n"
                     "case \"$*\" in *-V*) echo 'Python 3.10.12';; *) exit 1;; esac\n")
    result = subprocess.run(["bash", str(LAUNCHER), "--help"], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHON": str(old)})
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"Guichet demande Python 3.11 ou plus récent ; « {old} » est Python 3.10.12 "
        "(choisissez-en un autre : PYTHON=python3.11 ./guichet)."]


def _qt_check(tmp_path: Path, ldconfig_lines: int) -> list[str]:
    """Runs the launcher's Qt check 20 times, under ``set -euo pipefail``, against an
    ``ldconfig`` that prints a long list with the libraries at its top (what made the old
    ``ldconfig -p | grep -q`` fail at random: grep leaves early, ldconfig gets SIGPIPE)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable(bin_dir / "ldconfig", "#!/bin/sh\n"
               "echo '\tlibEGL.so.1 (libc6,x86-64) => /lib/libEGL.so.1'\n"
               "echo '\tlibxkbcommon.so.0 (libc6,x86-64) => /lib/libxkbcommon.so.0'\n"
               "echo '\tlibfontconfig.so.1 (libc6,x86-64) => /lib/libfontconfig.so.1'\n"
               "echo '\tlibglib-2.0.so.0 (libc6,x86-64) => /lib/libglib-2.0.so.0'\n"
               f"seq 1 {ldconfig_lines} | sed 's/^/\tlibfiller/'\n")
    script = LAUNCHER.read_text()
    function = script[script.index("qt_libraries_missing() {"):]
    function = function[:function.index("\n}\n") + 3]
    check = ("set -euo pipefail\n" + function +
             "for i in $(seq 1 20); do if qt_libraries_missing; then echo missing; "
             "else echo present; fi; done\n")
    result = subprocess.run(["bash", "-c", check], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_qt_check_never_reports_present_libraries_missing(tmp_path: Path) -> None:
    assert set(_qt_check(tmp_path, 50_000)) == {"present"}
