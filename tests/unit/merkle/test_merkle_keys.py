from __future__ import annotations

import os
from pathlib import Path

import pytest

from calea.store.merkle.errors import KeyFileError
from calea.store.merkle.keys import (
    SIGNING_KEY_FILE,
    load_or_create_signing_key,
    public_keys,
    rotate,
)


def test_created_key_file_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    d = tmp_path / "etc" / "keys"
    old_umask = os.umask(0o022)
    try:
        key = load_or_create_signing_key(d)
    finally:
        os.umask(old_umask)
    assert (d / SIGNING_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert d.stat().st_mode & 0o777 == 0o700
    assert (d / SIGNING_KEY_FILE).read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [p.key_id for p in public_keys(d)] == [key.key_id]
    assert sorted(p.name for p in d.iterdir()) == sorted(
        [SIGNING_KEY_FILE, f"{key.key_id.hex()}.vkey"]
    )


def test_loading_again_returns_the_same_key(tmp_path: Path) -> None:
    a = load_or_create_signing_key(tmp_path / "k")
    b = load_or_create_signing_key(tmp_path / "k")
    assert a.public_key == b.public_key


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o601, 0o610])
def test_group_or_world_accessible_key_is_refused(tmp_path: Path, mode: int) -> None:
    d = tmp_path / "k"
    load_or_create_signing_key(d)
    (d / SIGNING_KEY_FILE).chmod(mode)
    with pytest.raises(KeyFileError) as exc:
        load_or_create_signing_key(d)
    assert exc.value.reason == "unsafe-permissions"
    assert f"{mode:04o}" in exc.value.message and "chmod 600" in exc.value.message
    with pytest.raises(KeyFileError):
        rotate(d)  # rotation refuses too: it must not paper over an exposed key


def test_group_writable_key_directory_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "k"
    load_or_create_signing_key(d)
    d.chmod(0o770)
    with pytest.raises(KeyFileError) as exc:
        load_or_create_signing_key(d)
    assert exc.value.reason == "unsafe-permissions"


def test_symlinked_key_file_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "k"
    load_or_create_signing_key(d)
    (d / SIGNING_KEY_FILE).rename(tmp_path / "elsewhere.key")
    (d / SIGNING_KEY_FILE).symlink_to(tmp_path / "elsewhere.key")
    with pytest.raises(KeyFileError) as exc:
        load_or_create_signing_key(d)
    assert exc.value.reason == "unsafe-permissions"


def test_garbage_key_file_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "k"
    d.mkdir(mode=0o700)
    fd = os.open(d / SIGNING_KEY_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"not a key")
    os.close(fd)
    with pytest.raises(KeyFileError) as exc:
        load_or_create_signing_key(d)
    assert exc.value.reason == "bad-key-file"


def test_rotate_replaces_private_key_and_keeps_public_keys(tmp_path: Path) -> None:
    d = tmp_path / "k"
    first = load_or_create_signing_key(d)
    second = rotate(d)
    third = rotate(d)
    assert len({first.key_id, second.key_id, third.key_id}) == 3
    assert load_or_create_signing_key(d).public_key == third.public_key
    assert {p.key_id for p in public_keys(d)} == {first.key_id, second.key_id, third.key_id}
    assert (d / SIGNING_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert [p.name for p in d.iterdir() if p.name.endswith(".tmp")] == []


def test_rotate_creates_when_absent(tmp_path: Path) -> None:
    key = rotate(tmp_path / "k")
    assert load_or_create_signing_key(tmp_path / "k").public_key == key.public_key
    assert len(public_keys(tmp_path / "k")) == 2  # the bootstrap key and the rotated one


def test_malformed_public_key_file_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "k"
    load_or_create_signing_key(d)
    (d / "deadbeef.vkey").write_text("garbage\n")
    with pytest.raises(KeyFileError) as exc:
        public_keys(d)
    assert exc.value.reason == "bad-key-file"
