"""The released noise follows its declared distribution, and its epsilon is OpenDP's own figure."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from scipy import stats

from service.signals import noise
from service.signals.protection import PARTS, Grid, ProtectionRules, compute

# Samples drawn once per module: drawing is the slow part (OpenDP samples exactly, ~12 us each).
SAMPLES = 40_000


def discrete_laplace_pmf(z: int, scale: float) -> float:
    """P(noise = z) of the discrete Laplace distribution: proportional to exp(-|z| / scale)."""
    q = math.exp(-1 / scale)
    return (1 - q) / (1 + q) * q ** abs(z)


def chi_square_p(sample: Counter[int], scale: float) -> float:
    """p-value of a chi-square goodness-of-fit test of `sample` against the discrete Laplace;
    values beyond the point where the expected count falls under 5 are pooled in two tails."""
    n = sum(sample.values())
    limit = 0
    while n * discrete_laplace_pmf(limit + 1, scale) >= 5:
        limit += 1
    observed, expected = [], []
    for z in range(-limit, limit + 1):
        observed.append(sample.get(z, 0))
        expected.append(n * discrete_laplace_pmf(z, scale))
    tail = (1 - sum(expected) / n) / 2 * n
    observed += [sum(c for z, c in sample.items() if z < -limit), sum(c for z, c in sample.items() if z > limit)]
    expected += [tail, tail]
    return float(stats.chisquare(observed, expected).pvalue)


@pytest.fixture(scope="module")
def released_noise() -> tuple[Counter[int], float]:
    """Noise as releases publish it: value minus exact count, over whole computed releases whose
    counts are far above k (nothing suppressed, nothing clamped at 0)."""
    rules = ProtectionRules(k=5, cap=2, epsilon=1.0)
    g = Grid("m", {f"a{i:03d}": f"d{i % 10}" for i in range(200)}, {f"c{i:02d}": f"p{i % 4}" for i in range(25)})
    bounded = {(a, c): 10_000 for a in g.districts for c in g.phenomena}
    sample: Counter[int] = Counter()
    while sum(sample.values()) < SAMPLES:
        table = compute(g, bounded, rules, noise.noisy)
        assert not table.hidden
        sample.update(table.noisy[key] - table.exact[key] for key in table.exact)
    return sample, rules.scale


def test_released_noise_is_discrete_laplace_of_the_declared_scale(released_noise):
    sample, scale = released_noise
    # A false alarm here has probability 1e-4 by construction of the test.
    assert chi_square_p(sample, scale) > 1e-4
    n = sum(sample.values())
    mean = sum(z * c for z, c in sample.items()) / n
    variance = sum(z * z * c for z, c in sample.items()) / n - mean**2
    q = math.exp(-1 / scale)
    assert abs(mean) < 5 * math.sqrt(2 * q / (1 - q) ** 2 / n)  # five standard errors
    assert variance == pytest.approx(2 * q / (1 - q) ** 2, rel=0.05)


def test_the_test_rejects_a_distribution_that_is_not_the_declared_one(released_noise):
    sample, scale = released_noise
    # The same samples against a scale a quarter smaller or larger: the test tells them apart.
    assert chi_square_p(sample, scale * 0.75) < 1e-6
    assert chi_square_p(sample, scale * 1.25) < 1e-6


def test_each_part_spends_its_share_and_a_release_spends_epsilon():
    rules = ProtectionRules(k=5, cap=2, epsilon=1.0)
    # One reporter's week in one cell moves one cell of each part by at most `cap`.
    per_part = noise.epsilon(rules.scale, rules.cap)
    assert per_part == pytest.approx(rules.epsilon / PARTS)
    assert per_part * PARTS == pytest.approx(rules.epsilon)


def test_noise_is_fresh_for_every_cell_and_call():
    first, second = noise.noisy([0] * 2000, 12.0), noise.noisy([0] * 2000, 12.0)
    assert first != second
    assert len(set(first)) > 20  # not a constant offset
