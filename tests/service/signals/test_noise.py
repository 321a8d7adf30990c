"""The released noise follows its declared distribution, and its epsilon is OpenDP's own figure."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from service.signals import noise
from service.signals.protection import PARTS, Grid, ProtectionRules, compute, interval

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


PART = ("district", "category")


@pytest.fixture(scope="module")
def released_noise() -> tuple[Counter[int], float, dict]:  # type: ignore[type-arg]
    """The noise of one part as releases draw it (the measurement minus the exact count, over whole
    computed releases), and the errors of the published values after consistency, per part."""
    rules = ProtectionRules(k=5, cap=2, epsilon=1.0)
    g = Grid("m", {f"a{i:03d}": f"d{i % 10}" for i in range(200)}, {f"c{i:02d}": f"p{i % 4}" for i in range(25)})
    bounded = {(a, c): 10_000 for a in g.districts for c in g.phenomena}
    scale = rules.scale(PART)
    sample: Counter[int] = Counter()
    errors: dict = {}  # type: ignore[type-arg]

    def draw(values, drawn_scale):  # type: ignore[no-untyped-def]
        noisy = noise.noisy(values, drawn_scale)
        if drawn_scale == scale:
            sample.update(v - x for v, x in zip(noisy, values))
        return noisy

    while sum(sample.values()) < SAMPLES:
        table = compute(g, bounded, rules, draw)
        for key in table.exact:
            errors.setdefault((key[0], key[2]), []).append((table.protected[key] - table.exact[key], table.sd[key]))
    return sample, scale, errors


def test_released_noise_is_discrete_laplace_of_the_declared_scale(released_noise):
    sample, scale, _ = released_noise
    # A false alarm here has probability 1e-4 by construction of the test.
    assert chi_square_p(sample, scale) > 1e-4
    n = sum(sample.values())
    mean = sum(z * c for z, c in sample.items()) / n
    variance = sum(z * z * c for z, c in sample.items()) / n - mean**2
    q = math.exp(-1 / scale)
    assert abs(mean) < 5 * math.sqrt(2 * q / (1 - q) ** 2 / n)  # five standard errors
    assert variance == pytest.approx(2 * q / (1 - q) ** 2, rel=0.05)
    assert noise.variance(scale) == pytest.approx(2 * q / (1 - q) ** 2)


def test_the_test_rejects_a_distribution_that_is_not_the_declared_one(released_noise):
    sample, scale, _ = released_noise
    # The same samples against a scale a quarter smaller or larger: the test tells them apart.
    assert chi_square_p(sample, scale * 0.75) < 1e-6
    assert chi_square_p(sample, scale * 1.25) < 1e-6


def test_published_values_have_the_declared_sd_and_interval_coverage(released_noise):
    """After consistency and rounding, each published value's error has the sd the release states
    (unbiased, within sampling error) and the 90% interval covers the count about 90% of the time."""
    _, _, errors = released_noise
    for part, pairs in errors.items():
        error = np.array([e for e, _ in pairs], dtype=float)
        sd = np.array([s for _, s in pairs])
        z = error / sd
        assert abs(z.mean()) < 5 / math.sqrt(len(z)) + 0.02, part
        # Four standard errors of a mean of z^2 (z at most as heavy-tailed as a Laplace: var(z^2) <= 5),
        # and a little for rounding at small sd.
        assert np.mean(z**2) == pytest.approx(1.0, abs=4 * math.sqrt(5 / len(z)) + 0.03), part
        # The published interval is value -+ 1.645 sd rounded to whole reports (halves up), so it
        # covers a little more than 90% where the sd is small: at least 90%, not much more.
        # Every exact count here is 10,000 (the fixture's), and e is the protected value's error.
        covered = [low <= 10_000 <= high for low, high in (interval(10_000 + e, round(s, 3)) for e, s in pairs)]
        coverage = float(np.mean(covered))
        slack = 4 * math.sqrt(0.09 / len(covered))
        print(f"coverage of the 90% interval, {part[0]}/{part[1]}: {coverage:.3f} over {len(covered)} values")
        assert 0.9 - slack <= coverage <= 0.94 + slack, (part, coverage)


def test_each_part_spends_its_share_and_a_release_spends_epsilon():
    rules = ProtectionRules(k=5, cap=2, epsilon=1.0)
    # One organisation's week in one cell moves one cell of each part by at most `cap`.
    for part in PARTS:
        scale = rules.scale(part)
        if scale is not None:
            assert noise.epsilon(scale, rules.cap) == pytest.approx(rules.epsilon * rules.share(part))
    assert rules.spent() == pytest.approx(rules.epsilon)


def test_noise_is_fresh_for_every_cell_and_call():
    first, second = noise.noisy([0] * 2000, 12.0), noise.noisy([0] * 2000, 12.0)
    assert first != second
    assert len(set(first)) > 20  # not a constant offset
