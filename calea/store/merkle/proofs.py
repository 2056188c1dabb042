"""Which subtree hashes a proof needs: pure index arithmetic, no hashing, no storage.

SPEC: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.1 (inclusion, PATH)
SPEC: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.1 (consistency, SUBPROOF)

Every element of an RFC 9162 proof is MTH(D[start:end]) for some leaf range; this module
returns those ranges, in proof order, as `NodeRange`s with absolute leaf offsets.  A range
is always a *subtree* of the tree: `start` is a multiple of the smallest power of two
>= its width, so it is either a perfect subtree (`Node`) or the right edge of one, whose
hash is folded from the perfect subtrees that `NodeRange.nodes()` lists.  The caller turns
ranges into hashes with whatever storage it has (tiles, a leaf list, ...).

The functions follow the RFC's recursive definitions iteratively: at each step the current
range [lo, hi) splits at k = the largest power of two smaller than its width.
"""

from __future__ import annotations

from dataclasses import dataclass

from calea.store.merkle.errors import UsageError


@dataclass(frozen=True, slots=True)
class Node:
    """A perfect subtree: the 2**level leaves [index * 2**level, (index + 1) * 2**level)."""

    level: int
    index: int

    @property
    def start(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


@dataclass(frozen=True, slots=True)
class NodeRange:
    """MTH(D[start:end]): the hash of a subtree covering leaves [start, end)."""

    start: int
    end: int

    def nodes(self) -> tuple[Node, ...]:
        """The perfect subtrees covering the range, left to right, largest first.

        MTH of the range is their hashes folded from the right:
        H(n0, H(n1, ... H(n_{k-2}, n_{k-1}))).
        """
        return perfect_subtrees(self.start, self.end)


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2): the RFC's split point k."""
    if n < 2:
        raise UsageError(f"no power of two below {n}", reason="bad-argument")
    return 1 << ((n - 1).bit_length() - 1)


def perfect_subtrees(start: int, end: int) -> tuple[Node, ...]:
    """Decompose the subtree range [start, end) into perfect subtrees, largest first.

    Raises `UsageError` if [start, end) is not a subtree range (its pieces would not shrink
    strictly from left to right, so folding them would not give an RFC 9162 MTH).
    """
    if not 0 <= start < end:
        raise UsageError(f"empty or negative range [{start}, {end})", reason="bad-range")
    out: list[Node] = []
    pos = start
    while pos < end:
        level = (end - pos).bit_length() - 1  # largest piece that fits ...
        if pos:
            level = min(level, (pos & -pos).bit_length() - 1)  # ... and is aligned at pos
        if out and level >= out[-1].level:
            raise UsageError(f"[{start}, {end}) is not a subtree range", reason="bad-range")
        out.append(Node(level, pos >> level))
        pos += 1 << level
    return tuple(out)


def inclusion_ranges(index: int, size: int) -> tuple[NodeRange, ...]:
    """PATH(index, D[0:size]): the ranges of an inclusion proof, leaf-side first."""
    if not 0 <= index < size:
        raise UsageError(f"leaf index {index} not in a tree of size {size}", reason="bad-index")
    ranges: list[NodeRange] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = largest_power_of_two_below(hi - lo)
        if index < lo + k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            ranges.append(NodeRange(lo + k, hi))
            hi = lo + k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            ranges.append(NodeRange(lo, lo + k))
            lo = lo + k
    ranges.reverse()  # the recursion emits the outermost sibling last
    return tuple(ranges)


def consistency_ranges(size1: int, size2: int) -> tuple[NodeRange, ...]:
    """PROOF(size1, D[0:size2]) = SUBPROOF(size1, D[0:size2], true), as ranges.

    Empty when size1 == 0 or size1 == size2: those trees are trivially consistent and
    the RFC defines no proof for them.
    """
    if not 0 <= size1 <= size2:
        raise UsageError(f"cannot prove {size1} -> {size2}", reason="bad-size")
    if size1 in (0, size2):
        return ()
    ranges: list[NodeRange] = []
    lo, hi, whole = 0, size2, True  # `whole`: D[lo:hi] is still the original tree (b)
    while True:
        if size1 == hi:  # SUBPROOF(m, D[m], b): {} if b, else {MTH(D[m])}
            if not whole:
                ranges.append(NodeRange(lo, hi))
            break
        k = largest_power_of_two_below(hi - lo)
        if size1 - lo <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            ranges.append(NodeRange(lo + k, hi))
            hi = lo + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            ranges.append(NodeRange(lo, lo + k))
            lo, whole = lo + k, False
    ranges.reverse()
    return tuple(ranges)
