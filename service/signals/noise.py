"""Differential-privacy noise for integer counts, from OpenDP.

The mechanism is OpenDP's `make_laplace` over integers, which is the discrete Laplace (two-sided
geometric) distribution: P(noise = z) is proportional to exp(-|z| / scale). OpenDP samples it
exactly, with integer and rational arithmetic from a cryptographically secure source, so it has
none of the floating-point weaknesses of a hand-written sampler (Mironov 2012: the low bits of a
textbook floating-point Laplace sample reveal the input). OpenDP lists the integer Laplace under
its "contrib" features (implemented and proven in the library, not yet through its external
vetting process); it is the library's own recommended mechanism for counts, so it is enabled here
once, on import, for this one constructor.

A count whose sensitivity is `sensitivity` (how much one protected unit can change it) released
with `scale` spends epsilon = sensitivity / scale; OpenDP's privacy map computes that figure and
`epsilon` below returns it, so the accounting is the library's, not ours.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import opendp.prelude as dp

dp.enable_features("contrib")

MECHANISM = "opendp.measurements.make_laplace over integers (discrete Laplace)"


@functools.lru_cache(maxsize=64)
def _measurement(scale: float) -> dp.Measurement:
    return dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale)


def scale_for(sensitivity: int, epsilon: float) -> float:
    """The noise scale that makes counts of this L1 sensitivity epsilon-DP."""
    if sensitivity < 1 or not (math.isfinite(epsilon) and epsilon > 0):
        raise ValueError("sensitivity must be a positive integer and epsilon a positive number")
    return sensitivity / epsilon


def variance(scale: float) -> float:
    """The variance of the discrete Laplace of this scale: 2q / (1 - q)^2 with q = exp(-1 / scale)."""
    q = math.exp(-1 / scale)
    return 2 * q / (1 - q) ** 2


def epsilon(scale: float, sensitivity: int) -> float:
    """The epsilon OpenDP's privacy map gives for counts of this sensitivity at this scale."""
    return float(_measurement(scale).map(sensitivity))


def noisy(counts: Sequence[int], scale: float) -> list[int]:
    """Each count plus an independent discrete Laplace sample of this scale."""
    if not counts:
        return []
    return list(_measurement(scale)(list(counts)))
