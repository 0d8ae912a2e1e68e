"""Vending keys: protected file, environment variable, masking, the labelled TEST key."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import pytest

from central.sts.errors import VendingKeyError
from central.sts.vending_keys import (
    TEST_VENDING_KEY_DKGA02,
    TEST_VENDING_KEY_DKGA04,
    DecoderKey,
    VendingKey,
    VendingKeyRing,
)

SECRET = "0123456789abcdef"


def _write(path: Path, text: str, mode: int) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_key_file_readable_only_by_owner(tmp_path: Path) -> None:
    key = VendingKey.from_file(_write(tmp_path / "vk", f"# revision 2\n{SECRET}\n", 0o600))
    assert key.secret() == bytes.fromhex(SECRET)
    assert key.label == "file:vk"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = _write(tmp_path / "vk", SECRET, mode)
    with pytest.raises(VendingKeyError, match="chmod 600"):
        VendingKey.from_file(path)


def test_key_file_errors(tmp_path: Path) -> None:
    with pytest.raises(VendingKeyError, match="cannot read"):
        VendingKey.from_file(tmp_path / "missing")
    with pytest.raises(VendingKeyError, match="exactly one key line"):
        VendingKey.from_file(_write(tmp_path / "two", f"{SECRET}\n{SECRET}\n", 0o600))
    with pytest.raises(VendingKeyError, match="hex digits"):
        VendingKey.from_file(_write(tmp_path / "short", "abcd", 0o600))
    with pytest.raises(VendingKeyError, match="hexadecimal"):
        VendingKey.from_file(_write(tmp_path / "text", "not a key at all", 0o600))


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STS_TEST_VK", SECRET)
    assert VendingKey.from_env("STS_TEST_VK").secret() == bytes.fromhex(SECRET)
    monkeypatch.delenv("STS_TEST_VK")
    with pytest.raises(VendingKeyError, match="not set"):
        VendingKey.from_env("STS_TEST_VK")


def test_key_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    key = VendingKey.from_hex(SECRET, label="revision 2")
    decoder_key = DecoderKey.from_hex("e653341f9d5bf36f")
    logging.getLogger("test").warning("using %s / %r / %s", key, key, decoder_key)
    shown = caplog.text + repr(key) + str(key) + f"{key}" + repr(decoder_key)
    assert SECRET not in shown.lower()
    assert "e653341f9d5bf36f" not in shown.lower()
    assert "masked" in repr(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_demo_keys_are_labelled_as_test_keys() -> None:
    for key in (TEST_VENDING_KEY_DKGA02, TEST_VENDING_KEY_DKGA04):
        assert key.is_test
        assert "TEST KEY" in repr(key)
    assert not VendingKey.from_hex(SECRET).is_test


def test_key_sizes() -> None:
    assert VendingKey.from_hex(SECRET).bits == 64
    assert TEST_VENDING_KEY_DKGA04.bits == 160
    with pytest.raises(VendingKeyError):
        VendingKey(bytes(16))
    with pytest.raises(VendingKeyError):
        DecoderKey(bytes(20))


def test_equality_without_exposing_the_key() -> None:
    assert VendingKey.from_hex(SECRET) == VendingKey.from_hex(SECRET.upper())
    assert VendingKey.from_hex(SECRET) != VendingKey.from_hex("ab" * 8)
    assert VendingKey.from_hex(SECRET).fingerprint != bytes.fromhex(SECRET)


def test_key_ring_reads_one_key_per_revision(tmp_path: Path) -> None:
    _write(tmp_path / "sgc123456-krn2-dkga02.key", f"{SECRET}\n", 0o600)
    _write(tmp_path / "sgc123456-krn3-dkga04.key", "ab" * 20 + "\n", 0o600)
    ring = VendingKeyRing.from_directory(tmp_path)
    assert len(ring) == 2
    assert ring.key_for(123456, 2, 2).secret().hex() == SECRET
    assert ring.key_for(123456, 3, 4).bits == 160
    with pytest.raises(VendingKeyError, match="aucune clé de vente pour le SGC 123456, KRN 4"):
        ring.key_for(123456, 4, 2)
    assert SECRET not in repr(ring)


def test_key_ring_refuses_open_files_and_odd_names(tmp_path: Path) -> None:
    _write(tmp_path / "sgc123456-krn2-dkga02.key", f"{SECRET}\n", 0o644)
    with pytest.raises(VendingKeyError, match="chmod 600"):
        VendingKeyRing.from_directory(tmp_path)
    (tmp_path / "sgc123456-krn2-dkga02.key").unlink()
    _write(tmp_path / "revision2.key", f"{SECRET}\n", 0o600)
    with pytest.raises(VendingKeyError, match="sgc<SGC>-krn<KRN>-dkga<NN>.key"):
        VendingKeyRing.from_directory(tmp_path)
    with pytest.raises(VendingKeyError, match="n'existe pas"):
        VendingKeyRing.from_directory(tmp_path / "missing")


def test_key_ring_of_test_keys_is_labelled() -> None:
    ring = VendingKeyRing(test_keys=True)
    assert ring.key_for(1, 1, 2) is TEST_VENDING_KEY_DKGA02
    assert ring.key_for(1, 1, 4) is TEST_VENDING_KEY_DKGA04
    assert "TEST KEYS" in repr(ring)
