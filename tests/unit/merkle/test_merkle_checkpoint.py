from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from calea.store.merkle import keys
from calea.store.merkle.checkpoint import Checkpoint, sign, verify
from calea.store.merkle.errors import CheckpointError, UsageError
from calea.store.merkle.note import PublicKey, SigningKey, key_id, open_note, sign_note

ROOT8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
CP = Checkpoint("calea.example/case/2024-0042", 8, ROOT8)
# A fixed key, so signatures (Ed25519 is deterministic) and key ids are golden values.
KEY = SigningKey("calea.example", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def test_body_format() -> None:
    assert (
        CP.to_text()
        == "calea.example/case/2024-0042\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    )
    assert Checkpoint.from_text(CP.to_text()) == CP
    with_ext = Checkpoint("o", 0, ROOT8, ("ext one",))
    assert Checkpoint.from_text(with_ext.to_text()) == with_ext


def test_key_id_is_derived_from_name_and_public_key() -> None:
    pub = KEY.public_key
    assert pub.key_id == key_id("calea.example", pub.key)
    assert pub.key_id == __import__("hashlib").sha256(b"calea.example\n\x01" + pub.key).digest()[:4]
    other = SigningKey.generate("calea.example")
    assert other.key_id != pub.key_id
    assert PublicKey.from_vkey(pub.to_vkey()) == pub
    assert pub.to_vkey().startswith(f"calea.example+{pub.key_id.hex()}+")


def test_signed_checkpoint_format_and_verify() -> None:
    signed = sign(CP, KEY)
    body, sig_block = signed.split("\n\n")
    assert body + "\n" == CP.to_text()
    name, b64 = sig_block.removeprefix("\u2014 ").removesuffix("\n").split(" ")
    raw = base64.b64decode(b64)
    assert name == "calea.example" and raw[:4] == KEY.key_id and len(raw) == 68
    assert verify(signed, [KEY.public_key]) == CP
    assert verify(signed, [KEY.public_key], origin=CP.origin) == CP


def _reason(text: str, keys_: list[PublicKey], **kw: str) -> str:
    with pytest.raises(CheckpointError) as exc:
        verify(text, keys_, **kw)
    return exc.value.reason


def test_tampering_is_detected() -> None:
    signed = sign(CP, KEY)
    pub = [KEY.public_key]
    assert _reason(signed.replace("\n8\n", "\n9\n", 1), pub) == "bad-signature"
    assert _reason(signed.replace("2024-0042", "2024-0043", 1), pub) == "bad-signature"
    body, sig = signed.split("\n\n")
    b64 = sig.split(" ")[2].strip()
    raw = bytearray(base64.b64decode(b64))
    raw[10] ^= 1
    assert (
        _reason(signed.replace(b64, base64.b64encode(bytes(raw)).decode()), pub) == "bad-signature"
    )


def test_unknown_wrong_or_missing_keys() -> None:
    signed = sign(CP, KEY)
    stranger = SigningKey.generate("calea.example").public_key
    assert _reason(signed, [stranger]) == "no-known-signature"
    assert _reason(signed, []) == "no-known-signature"
    assert _reason(signed, [KEY.public_key], origin="other/case") == "wrong-origin"


def test_unknown_cosignatures_are_ignored() -> None:
    witness = SigningKey.generate("witness.example")
    text = sign_note(CP.to_text(), [KEY, witness])
    assert verify(text, [KEY.public_key]) == CP
    body, signers = open_note(text, [KEY.public_key, witness.public_key])
    assert body == CP.to_text() and signers == (KEY.public_key, witness.public_key)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no signature block\n",
        CP.to_text() + "\n",
        CP.to_text() + "\n\u2014 calea.example !!!notbase64\n",
        CP.to_text() + "\n\u2014 calea.example AAAA\n",
        CP.to_text() + "\n- calea.example " + "A" * 96 + "\n",
        CP.to_text()[:-1] + "\r\n\n\u2014 x " + "A" * 96 + "\n",
    ],
)
def test_malformed_notes(text: str) -> None:
    assert _reason(text, [KEY.public_key]) == "malformed"


@pytest.mark.parametrize(
    "body",
    [
        "o\n8\n",  # too few lines
        "o\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",  # leading zero
        "o\n-8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "o\n\u0668\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",  # non-ASCII digit
        "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg\n",  # unpadded
        "o\n8\nAAAA\n",  # not 32 bytes
        "o\n18446744073709551616\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",  # > 2**64-1
    ],
)
def test_malformed_bodies_are_refused_even_if_signed(body: str) -> None:
    assert _reason(sign_note(body, [KEY]), [KEY.public_key]) == "malformed"


def test_checkpoint_fields_are_validated() -> None:
    with pytest.raises(UsageError):
        Checkpoint("", 1, ROOT8)
    with pytest.raises(UsageError):
        Checkpoint("o", 1, b"short")
    with pytest.raises(UsageError):
        SigningKey.generate("has space")
    with pytest.raises(UsageError):
        SigningKey.generate("a+b")


def test_rotation_keeps_old_checkpoints_verifiable(tmp_path: Path) -> None:
    d = tmp_path / "keys"
    old = keys.load_or_create_signing_key(d, "calea.example")
    old_cp = sign(CP, old)
    new = keys.rotate(d, "calea.example")
    assert new.key_id != old.key_id
    assert keys.load_or_create_signing_key(d, "calea.example").key_id == new.key_id
    new_cp = sign(Checkpoint(CP.origin, 9, ROOT8), new)
    pubs = keys.public_keys(d)
    assert {p.key_id for p in pubs} == {old.key_id, new.key_id}
    assert verify(old_cp, pubs).size == 8
    assert verify(new_cp, pubs).size == 9
    assert _reason(old_cp, [new.public_key]) == "no-known-signature"


def test_from_vkey_rejects_garbage() -> None:
    pub = KEY.public_key
    for bad in ["", "name+00000000+" + pub.to_vkey().split("+", 2)[2], "x+y", pub.to_vkey()[:-4]]:
        with pytest.raises(CheckpointError):
            PublicKey.from_vkey(bad)


def test_end_to_end_append_sign_prove(tmp_path: Path) -> None:
    """What `calea verify` does: trust a signed checkpoint, then check proofs against it."""
    from calea.store.merkle.hashing import leaf_hash
    from calea.store.merkle.log import MerkleLog
    from calea.store.merkle.storage import FileTileStore
    from calea.store.merkle.verify import verify_consistency, verify_inclusion

    key = keys.load_or_create_signing_key(tmp_path / "keys", "calea.example")
    log = MerkleLog("case/7", FileTileStore.for_log(tmp_path / "logs", "case/7"))
    log.append([leaf_hash(b"pdu %d" % i) for i in range(1000)])
    old = sign(Checkpoint(log.log_id, log.size, log.root()), key)
    log.append([leaf_hash(b"pdu %d" % i) for i in range(1000, 1300)])
    new = sign(Checkpoint(log.log_id, log.size, log.root()), key)

    trusted = keys.public_keys(tmp_path / "keys")
    cp_old = verify(old, trusted, origin="case/7")
    cp_new = verify(new, trusted, origin="case/7")
    proof = log.inclusion_proof(777, cp_new.size)
    verify_inclusion(leaf_hash(b"pdu 777"), 777, cp_new.size, proof, cp_new.root_hash)
    proof = log.consistency_proof(cp_old.size, cp_new.size)
    verify_consistency(cp_old.size, cp_new.size, cp_old.root_hash, cp_new.root_hash, proof)
