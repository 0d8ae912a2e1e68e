"""``python -m central.sts`` run as a subprocess, checked against the vectors."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VK02 = ["--vending-key", "abababababababab"]
VK04 = ["--vending-key", "abababababababab949494949494949401234567"]
METER_A = ["--pan", "600727000000000009", "--sgc", "123456", "--ti", "1", "--krn", "1",
           "--kt", "2", "--dkga", "02", "--ea", "07", "--base-date", "1993", "--tables", "real"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """One call with a TID state file of its own (unless ``env`` names one)."""
    with tempfile.TemporaryDirectory() as folder:
        return subprocess.run(
            [sys.executable, "-m", "central.sts", *args], cwd=ROOT, capture_output=True,
            text=True, check=False, timeout=60,
            env={**os.environ, "GUICHET_STS_TID_FILE": f"{folder}/tid.json", **(env or {})},
        )


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def one_error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


CLASS0 = ["--class", "0", "--subclass", "0", "--rnd", "5"]


@pytest.mark.parametrize(
    ("args", "token"),
    [
        pytest.param([*VK02, *METER_A, *CLASS0, "--amount", "0.1",
                      "--issued-at", "2004-03-01T13:55"], "23716100501183194197", id="A1"),
        pytest.param([*VK02, "--pan", "000001000000000082", "--sgc", "123456", "--ti", "01",
                      "--krn", "1", "--kt", "2", "--dkga", "02", "--ea", "07", "--base-date",
                      "1993", "--tables", "real", *CLASS0, "--amount", "0.1",
                      "--issued-at", "2004-03-01T14:00"], "67206107716095682372", id="A2"),
        pytest.param([*VK02, *METER_A, "--class", "2", "--subclass", "0", "--rnd", "5",
                      "--amount", "1000", "--issued-at", "2004-03-28T09:01"],
                     "50901894209860263092", id="A7"),
        pytest.param([*VK02, *METER_A, "--class", "2", "--subclass", "1", "--rnd", "5",
                      "--value", "0xFFFF", "--issued-at", "2004-03-28T09:15"],
                     "29511990995826640868", id="A8"),
        pytest.param([*VK04, "--pan", "600727000000000009", "--sgc", "123457", "--ti", "1",
                      "--krn", "1", "--kt", "2", "--dkga", "04", "--ea", "07", "--base-date",
                      "1993", "--tables", "real", *CLASS0, "--amount", "0.1",
                      "--issued-at", "2009-01-01T08:00"], "15697331168573253829", id="B"),
        pytest.param([*VK04, "--pan", "600727000000000009", "--sgc", "123457", "--ti", "1",
                      "--krn", "1", "--kt", "2", "--dkga", "04", "--ea", "11", "--base-date",
                      "1993", "--tables", "real", *CLASS0, "--amount", "0.1",
                      "--issued-at", "2004-03-01T13:00"], "59386323472137426967", id="C"),
        pytest.param(["--decoder-key", "0ABC12DEF3456789", *METER_A[:-1], "sample", "--class",
                      "0", "--subclass", "0", "--rnd", "11", "--amount", "25.6",
                      "--issued-at", "1996-03-25T13:55:22"], "51043465443420856213",
                     id="D-sample"),
        pytest.param(["--decoder-key", "0ABC12DEF3456789", *METER_A, "--class", "0",
                      "--subclass", "0", "--rnd", "11", "--value", "0x0100",
                      "--issued-at", "1996-03-25T13:55Z"], "29054347139309851356", id="D-real"),
    ],
)
def test_issue_vectors(args: list[str], token: str) -> None:
    assert last_line(run("issue", *args)) == token


def test_key_change_vector() -> None:
    result = run("key-change", *VK02, *METER_A, "--new-ti", "2", "--new-krn", "1",
                 "--new-kt", "2", "--ken", "255")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["51638423060042734509", "15361891762113502242"]


def test_rollover_key_change_then_decode() -> None:
    result = run("key-change", *VK02, *METER_A, "--new-ti", "1", "--new-krn", "2",
                 "--new-kt", "2", "--ken", "255", "--rollover")
    first = result.stdout.split()[0]
    decoded = run("decode", *VK02, *METER_A, first)
    assert "rollover: yes" in decoded.stdout.splitlines()
    assert "krn: 2" in decoded.stdout.splitlines()


def test_decode_prints_one_field_per_line() -> None:
    result = run("decode", *VK02, *METER_A, "2371 6100 5011 8319 4197")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for expected in ("valid: yes", "class: 0", "subclass: 0", "tid: 5871715",
                     "tid_date: 2004-03-01T13:55Z", "amount: 0.1 kWh", "crc: 0x19E6 (ok)"):
        assert expected in lines


def test_class1_issue_needs_no_key() -> None:
    token = last_line(run("issue", *METER_A, "--class", "1", "--subclass", "0", "--value", "1"))
    assert "mfr_code: 0" in run("decode", *METER_A, token).stdout.splitlines()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["decode", *VK02, *METER_A, "2371610050118319419"], "exactement 20 chiffres",
                     id="19-digit"),
        pytest.param(["decode", *VK02, *METER_A, "73786976294838206464"], "2^66-1",
                     id="above-2^66-1"),
        pytest.param(["decode", *VK02, *METER_A, "23716100501183194198"], "CRC", id="crc"),
        pytest.param(["issue", *VK02, *METER_A[:1], "600727000000000008", *METER_A[2:],
                      *CLASS0, "--amount", "1"], "chiffre de contrôle 8, attendu 9", id="check"),
        pytest.param(["issue", *VK02, *METER_A, *CLASS0, "--amount", "1820162.5",
                      "--issued-at", "2004-01-01T00:00"], "supérieur au maximum", id="amount"),
        pytest.param(["issue", *VK02, *METER_A, *CLASS0, "--amount", "1",
                      "--issued-at", "2024-11-24T20:16"], "dépasse la dernière minute TID",
                     id="past-base-date"),
        pytest.param(["issue", *VK02, *METER_A, *CLASS0, "--amount", "1", "--ken", "0x58",
                      "--issued-at", "2004-03-01T13:55"], "expiration de la clé", id="key-expired"),
        pytest.param(["issue", "--vending-key", "abab", *METER_A, *CLASS0, "--amount", "1"],
                     "chiffres hexadécimaux", id="short-key"),
    ],
)
def test_domain_errors_exit_1_with_one_line(args: list[str], needle: str) -> None:
    assert needle in one_error_line(run(*args), 1)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["issue", *VK02, *METER_A[:-2], "--class", "0", "--subclass", "0"],
                     id="no-amount"),
        pytest.param(["issue", *VK02, "--pan", "600727000000000009", "--class", "0",
                      "--subclass", "0", "--amount", "1"], id="missing-options"),
        pytest.param(["issue", *VK02, *METER_A, *CLASS0, "--amount", "1",
                      "--issued-at", "yesterday"], id="bad-date"),
        pytest.param(["frobnicate"], id="unknown-command"),
        pytest.param(["issue", *METER_A, *CLASS0, "--amount", "1"], id="no-key"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str]) -> None:
    assert one_error_line(run(*args), 2).startswith("sts : erreur d'utilisation")


def test_key_file_and_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "vending.key"
    key_file.write_text("# TEST key of the compliance vectors\nabababababababab\n")
    args = [*METER_A, *CLASS0, "--amount", "0.1", "--issued-at", "2004-03-01T13:55"]
    key_file.chmod(0o644)
    refused = run("issue", "--vending-key-file", str(key_file), *args)
    assert "chmod 600" in one_error_line(refused, 1)
    key_file.chmod(0o600)
    assert last_line(run("issue", "--vending-key-file", str(key_file), *args)) == (
        "23716100501183194197"
    )
    from_env = run("issue", "--vending-key-env", "STS_VK", *args, env={"STS_VK": "ab" * 8})
    assert last_line(from_env) == "23716100501183194197"


METER_NOW = ["--pan", "600727000000000009", "--sgc", "123456", "--ti", "1", "--krn", "2"]


def _tid(result: subprocess.CompletedProcess[str]) -> int:
    assert result.returncode == 0, result.stderr
    details = result.stderr.strip().splitlines()[-1]
    return int(details.split("tid=")[1].split()[0])


def test_issue_never_hands_out_a_tid_twice_and_defaults_to_the_current_base_date(
        tmp_path: Path) -> None:
    """Three tokens for one meter in the same minute: three TIDs, each accepted by the meter
    after the one before (a meter refuses a TID it has seen); no --base-date nor --issued-at:
    the current base date (1993 ran out in 2024)."""
    state = {"GUICHET_STS_TID_FILE": str(tmp_path / "tid.json")}
    args = ["issue", *VK02, *METER_NOW, "--class", "0", "--subclass", "0", "--amount", "5",
            "--verbose"]
    issued = [run(*args, env=state) for _ in range(3)]
    tids = [_tid(result) for result in issued]
    assert tids[0] < tids[1] < tids[2]
    minutes_since_2014 = int((datetime.now(UTC) - datetime(2014, 1, 1, tzinfo=UTC))
                             .total_seconds() // 60)
    assert minutes_since_2014 - 5 <= tids[0] <= minutes_since_2014 + 1
    seen: list[str] = []
    for result in issued:
        decoded = run("decode", *VK02, *METER_NOW, "--base-date", "2014",
                      "--last-tids", ",".join(seen), last_line(result))
        assert decoded.returncode == 0, decoded.stderr
        seen.append(decoded.stdout.split("tid: ")[1].split()[0])
    again = run("decode", *VK02, *METER_NOW, "--last-tids", ",".join(seen),
                last_line(issued[0]))
    assert again.returncode == 1, "the meter refuses a TID it has seen"


def test_last_tid_option_moves_past_the_meter_s_own_last_tid(tmp_path: Path) -> None:
    state = {"GUICHET_STS_TID_FILE": str(tmp_path / "tid.json")}
    far = 9_000_000  # a meter that already received a TID far in the future of its records
    args = ["issue", *VK02, *METER_NOW, "--class", "0", "--subclass", "0", "--amount", "5",
            "--verbose"]
    assert _tid(run(*args, "--last-tid", str(far), env=state)) == far + 1
    assert _tid(run(*args, env=state)) == far + 2, "the state file remembers it"


def test_help_and_messages_are_in_french() -> None:
    shown = run("issue", "--help")
    assert shown.returncode == 0
    assert "utilisation :" in shown.stdout
    assert "dernier TID reçu par ce compteur" in shown.stdout
    assert "supply group" not in shown.stdout and "show this help" not in shown.stdout
    missing = one_error_line(run("issue", *METER_NOW, "--class", "0", "--subclass", "0",
                                 "--amount", "1"), 2)
    assert "une clé est obligatoire" in missing
