from __future__ import annotations

import calea.store.merkle as merkle
from calea.store.merkle import errors


def test_all_matches_public_names() -> None:
    public = {n for n in vars(merkle) if not n.startswith("_") and n != "annotations"}
    modules = {n for n in public if type(getattr(merkle, n)).__name__ == "module"}
    assert sorted(public - modules) == sorted(merkle.__all__)


def test_one_exception_tree() -> None:
    for cls in (
        errors.UsageError,
        errors.ProofError,
        errors.CheckpointError,
        errors.KeyFileError,
        errors.StorageError,
    ):
        assert issubclass(cls, errors.MerkleError)
    err = errors.ProofError("proof does not lead to the root", reason="root-mismatch")
    assert (
        repr(err) == "ProofError(reason='root-mismatch', message='proof does not lead to the root')"
    )
    assert isinstance(errors.UsageError("x", reason="y"), ValueError)
