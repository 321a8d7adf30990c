"""EARS C2 on weekly protected counts: hand-computed cases, window edges, a cross-check, and c2_many
against c2."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from service.signals.ears import EarsRules, Verdict, c2, c2_many, required_weeks

BASELINE = [10, 12, 11, 9, 10, 13, 12]
GUARD = [50, 50]


def test_hand_computed_example():
    # baseline 10 12 11 9 10 13 12: sum 77, mean 77 / 7 = 11
    # deviations -1 1 0 -2 -1 2 1, squares 1 1 0 4 1 4 1, sum 12
    # sample variance 12 / (7 - 1) = 2, sd sqrt(2) = 1.41421356..., above the floor of 1
    # statistic (25 - 11) / sqrt(2) = 14 / sqrt(2) = 7 * sqrt(2) = 9.8994949...; above 3
    verdict = c2(BASELINE + GUARD + [25])

    assert verdict.observed == 25
    assert verdict.expected == pytest.approx(11.0, abs=1e-9)
    assert verdict.sd == pytest.approx(math.sqrt(2), abs=1e-9)
    assert verdict.statistic == pytest.approx(7 * math.sqrt(2), abs=1e-9)
    assert verdict.rise == pytest.approx(14.0, abs=1e-9)
    assert verdict.flagged is True
    assert verdict.reason == "flagged"


def test_an_ordinary_week_is_within_baseline():
    # (13 - 11) / sqrt(2) = 1.414..., below 3
    verdict = c2(BASELINE + GUARD + [13])

    assert verdict.statistic == pytest.approx(math.sqrt(2), abs=1e-9)
    assert verdict.flagged is False
    assert verdict.reason == "within_baseline"


@pytest.mark.parametrize("guard", [[50, 50], [10**6, 10**6], [None, None], [0, 0]])
def test_guard_weeks_do_not_enter_the_baseline(guard):
    verdict = c2(BASELINE + guard + [25])

    assert verdict == c2(BASELINE + GUARD + [25])
    assert verdict.expected == pytest.approx(11.0, abs=1e-9)


def test_weeks_older_than_the_baseline_are_not_read():
    verdict = c2([10**6, 10**6, None] + BASELINE + GUARD + [25])

    assert verdict == c2(BASELINE + GUARD + [25])


@pytest.mark.parametrize("position", [0, 6])
def test_the_first_and_last_baseline_weeks_are_read(position):
    # The complement of the two tests above: the window edges sit exactly at t-9 and t-3.
    baseline = list(BASELINE)
    baseline[position] = 1000

    verdict = c2(baseline + GUARD + [25])

    assert verdict.expected > 100
    assert verdict.flagged is False


def test_a_week_not_shown_gets_no_verdict():
    verdict = c2(BASELINE + GUARD + [None])

    assert verdict.flagged is False
    assert verdict.reason == "not_shown"
    assert verdict.observed is None
    assert verdict.statistic is None
    assert verdict.rise is None
    # The baseline is still reported, so an analyst sees what the week was compared with.
    assert verdict.expected == pytest.approx(11.0, abs=1e-9)
    assert verdict.sd == pytest.approx(math.sqrt(2), abs=1e-9)


def test_a_week_not_shown_on_a_short_baseline_gets_no_verdict():
    verdict = c2([None] * 9 + [None])

    assert verdict.reason == "not_shown"
    assert verdict.expected is None
    assert verdict.sd is None


def test_three_present_baseline_weeks_are_too_few():
    verdict = c2([10, None, 12, None, None, 50, None] + GUARD + [200])

    assert verdict.flagged is False
    assert verdict.reason == "short_baseline"
    assert verdict.observed == 200
    assert (verdict.expected, verdict.sd, verdict.statistic, verdict.rise) == (None,) * 4


def test_four_present_baseline_weeks_are_enough():
    # present 10 12 11 9: mean 10.5, squares 0.25 2.25 0.25 2.25 = 5, variance 5 / 3
    verdict = c2([10, None, 12, None, 11, 9, None] + GUARD + [200])

    assert verdict.reason == "flagged"
    assert verdict.expected == pytest.approx(10.5, abs=1e-9)
    assert verdict.sd == pytest.approx(math.sqrt(5 / 3), abs=1e-9)


def test_min_sd_floors_a_flat_baseline():
    # Flat 5s: sample sd 0, floored at 1. (7 - 5) / 1 = 2 is not above 3; (9 - 5) / 1 = 4 is.
    rules = EarsRules(min_sd=1.0)

    small = c2([5] * 7 + [5, 5] + [7], rules)
    large = c2([5] * 7 + [5, 5] + [9], rules)

    assert small.sd == 1.0
    assert small.statistic == pytest.approx(2.0, abs=1e-9)
    assert small.flagged is False
    assert small.reason == "within_baseline"
    assert large.statistic == pytest.approx(4.0, abs=1e-9)
    assert large.flagged is True


def test_a_rise_within_the_dp_noise_does_not_flag():
    # The same +4 as above, with noise sd 3 as the floor: 4 / 3 = 1.33.
    verdict = c2([5] * 7 + [5, 5] + [9], EarsRules(min_sd=3.0))

    assert verdict.sd == 3.0
    assert verdict.statistic == pytest.approx(4 / 3, abs=1e-9)
    assert verdict.flagged is False


def test_the_floor_does_not_lower_a_wider_baseline():
    verdict = c2(BASELINE + GUARD + [25], EarsRules(min_sd=0.5))

    assert verdict.sd == pytest.approx(math.sqrt(2), abs=1e-9)


def test_a_statistic_equal_to_the_threshold_does_not_flag():
    # (8 - 5) / 1 = 3 exactly: the rule is "above", as earsC's observed > upperbound.
    verdict = c2([5] * 7 + [5, 5] + [8])

    assert verdict.statistic == 3.0
    assert verdict.flagged is False


@pytest.mark.parametrize("threshold", [3.0, 0.001])
def test_a_drop_never_flags(threshold):
    verdict = c2(BASELINE + GUARD + [0], EarsRules(threshold=threshold))

    assert verdict.statistic < 0
    assert verdict.rise == pytest.approx(-11.0, abs=1e-9)
    assert verdict.flagged is False
    assert verdict.reason == "within_baseline"


def test_negative_values_do_not_crash():
    # Callers clamp, but a stray negative must still give a verdict, not an exception.
    verdict = c2([-3, -1, 0, -2, 1, -1, 0] + [-5, -5] + [-4])

    assert verdict.expected == pytest.approx(-6 / 7, abs=1e-9)
    assert verdict.flagged is False


def test_a_young_series_counts_missing_weeks_as_suppressed():
    # 7 weeks: baseline weeks t-9..t-3 are indices -3..3, of which 0..3 exist (4 weeks).
    verdict = c2([10, 12, 11, 9, 50, 50, 40])

    assert verdict.reason == "flagged"
    assert verdict.expected == pytest.approx(10.5, abs=1e-9)


@pytest.mark.parametrize("length", [1, 2, 3, 6])
def test_a_series_too_young_for_min_baseline_is_short(length):
    verdict = c2([10] * (length - 1) + [100])

    assert verdict.reason == "short_baseline"
    assert verdict.flagged is False


def test_an_empty_series_is_refused():
    with pytest.raises(ValueError, match="empty"):
        c2([])


def test_required_weeks():
    assert required_weeks() == 10
    assert required_weeks(EarsRules(baseline=5, guard=0, min_baseline=3)) == 6


def test_guard_zero_is_c1_and_reads_the_previous_week():
    rules = EarsRules(guard=0)

    assert c2(BASELINE + [25], rules) == c2(BASELINE + GUARD + [25])
    assert c2(BASELINE[1:] + [1000] + [25], rules).expected > 100


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baseline": 1, "min_baseline": 1},
        {"baseline": 0},
        {"baseline": 7.0},
        {"baseline": True},
        {"guard": -1},
        {"guard": 2.5},
        {"threshold": 0.0},
        {"threshold": -1.0},
        {"threshold": math.nan},
        {"threshold": math.inf},
        {"min_baseline": 1},
        {"min_baseline": 8},
        {"min_baseline": 4.0},
        {"min_sd": 0.0},
        {"min_sd": -1.0},
        {"min_sd": math.nan},
        {"min_sd": math.inf},
    ],
)
def test_rules_are_validated(kwargs):
    with pytest.raises(ValueError):
        EarsRules(**kwargs)


def test_rules_at_their_bounds_are_accepted():
    rules = EarsRules(baseline=2, guard=0, threshold=0.1, min_baseline=2, min_sd=0.01)

    assert required_weeks(rules) == 3


def _reference(series, rules, noise_sd=None):
    """A deliberately plain C2: index arithmetic, sums and a square root, no slicing."""
    t = len(series) - 1
    values = []
    for i in range(t - rules.guard - rules.baseline, t - rules.guard):
        if i >= 0 and series[i] is not None:
            values.append(series[i])
    if series[t] is None:
        return "not_shown", None, None
    if len(values) < rules.min_baseline:
        return "short_baseline", None, None
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    floor = rules.min_sd
    if noise_sd is not None:
        floor = max(floor, math.sqrt(noise_sd * noise_sd + max(mean, 0)))
    sd = max(math.sqrt(variance), floor)
    statistic = (series[t] - mean) / sd
    return ("flagged" if statistic > rules.threshold else "within_baseline"), mean, statistic


def test_c2_agrees_with_a_plain_reimplementation():
    rng = random.Random(20240613)
    reasons = Counter()
    for _ in range(600):
        baseline = rng.randint(2, 9)
        rules = EarsRules(
            baseline=baseline,
            guard=rng.randint(0, 3),
            threshold=rng.uniform(0.5, 4.0),
            min_baseline=rng.randint(2, baseline),
            min_sd=rng.uniform(0.1, 3.0),
        )
        series = [
            None if rng.random() < 0.25 else rng.randint(0, 30) for _ in range(rng.randint(1, 16))
        ]
        if series[-1] is not None and rng.random() < 0.3:
            series[-1] += rng.randint(10, 60)

        noise_sd = None if rng.random() < 0.5 else rng.uniform(0.2, 5.0)
        verdict = c2(series, rules, noise_sd=noise_sd)
        reason, mean, statistic = _reference(series, rules, noise_sd)

        context = f"{series} {rules} {noise_sd}"
        assert isinstance(verdict, Verdict)
        reasons[verdict.reason] += 1
        if reason in ("not_shown", "short_baseline"):
            assert verdict.reason == reason, context
            assert verdict.statistic is None, context
            continue
        assert verdict.expected == pytest.approx(mean, rel=1e-9, abs=1e-9), context
        assert verdict.statistic == pytest.approx(statistic, rel=1e-9, abs=1e-9), context
        # A statistic within rounding of the threshold could fall either side in either version.
        if abs(statistic - rules.threshold) > 1e-9:
            assert verdict.reason == reason, context
            assert verdict.flagged is (reason == "flagged"), context

    # The random draw must exercise every branch, or the agreement above proves little.
    for reason in ("flagged", "within_baseline", "not_shown", "short_baseline"):
        assert reasons[reason] >= 30, reasons


def test_the_noise_and_chance_set_the_floor_of_the_spread():
    """With the noise sd given, a flat baseline of 100 needs a rise past 3 x sqrt(noise^2 + 100)."""
    flat = [100] * 7 + [0, 0]
    floor = (4.0**2 + 100) ** 0.5
    assert c2(flat + [100 + int(3 * floor)], noise_sd=4.0).flagged is False
    assert c2(flat + [100 + int(3 * floor) + 1], noise_sd=4.0).flagged is True
    assert c2(flat + [100 + int(3 * floor)], noise_sd=4.0).sd == pytest.approx(floor)
    # Without it, earsC's own floor (min_sd) applies.
    assert c2(flat + [104]).flagged is True


def _matrix(series_list):
    """Series of equal length as c2_many takes them: values (0 where None) and present."""
    values = np.array([[0 if v is None else v for v in s] for s in series_list], dtype=np.int64)
    present = np.array([[v is not None for v in s] for s in series_list], dtype=bool)
    return values, present


def test_c2_many_gives_c2s_verdicts_to_the_bit():
    rng = random.Random(20261201)
    reasons = Counter()
    for _ in range(120):
        baseline = rng.randint(2, 9)
        rules = EarsRules(baseline=baseline, guard=rng.randint(0, 3), threshold=rng.uniform(0.5, 4.0),
                          min_baseline=rng.randint(2, baseline), min_sd=rng.uniform(0.1, 3.0))
        length = rng.randint(1, 16)
        series_list = []
        for _ in range(40):
            series = [None if rng.random() < 0.25 else rng.randint(0, 30) for _ in range(length)]
            if series[-1] is not None and rng.random() < 0.3:
                series[-1] += rng.randint(10, 60)
            series_list.append(series)
        noise_sd = [None if rng.random() < 0.3 else rng.choice([0.5, 1.25, rng.uniform(0.2, 5.0)]) for _ in series_list]

        verdicts = c2_many(*_matrix(series_list), rules, noise_sd=noise_sd)

        assert len(verdicts) == len(series_list)
        for i, series in enumerate(series_list):
            expected = c2(series, rules, noise_sd=noise_sd[i])
            assert verdicts[i] == expected, f"{series} {rules} {noise_sd[i]}"  # floats equal, not approximately
            assert type(verdicts[i].observed) is type(expected.observed)
            reasons[expected.reason] += 1
    for reason in ("flagged", "within_baseline", "not_shown", "short_baseline"):
        assert reasons[reason] >= 100, reasons


def test_c2_many_takes_the_noise_sd_as_an_array_with_nan_for_none():
    series_list = [[5] * 7 + [5, 5] + [9], [5] * 7 + [5, 5] + [9]]

    verdicts = c2_many(*_matrix(series_list), noise_sd=np.array([np.nan, 3.0]))

    assert verdicts[0] == c2(series_list[0]) and verdicts[0].flagged is True
    assert verdicts[1] == c2(series_list[1], noise_sd=3.0) and verdicts[1].flagged is False


def test_c2_many_on_counts_too_large_for_exact_floats_still_agrees():
    # A million and more in one cell: int64 sums would round in float64, so c2 answers.
    series_list = [[3_000_000, 3_000_100, 2_999_950, 3_000_020, 3_000_000, 2_999_990, 3_000_040, 0, 0, 3_000_500],
                   [10, 12, 11, 9, 10, 13, 12, 50, 50, 25]]

    verdicts = c2_many(*_matrix(series_list), noise_sd=[2.0, None])

    assert [verdicts[i] for i in range(2)] == [c2(series_list[0], noise_sd=2.0), c2(series_list[1])]


def test_c2_many_of_no_series_is_empty():
    verdicts = c2_many(np.zeros((0, 10), dtype=np.int64), np.zeros((0, 10), dtype=bool))

    assert len(verdicts) == 0 and verdicts.reason == []


@pytest.mark.parametrize("values, present, noise_sd, message", [
    (np.zeros((2, 0), dtype=np.int64), np.zeros((2, 0), dtype=bool), None, "empty"),
    (np.zeros((2, 3), dtype=np.int64), np.zeros((2, 4), dtype=bool), None, "same shape"),
    (np.zeros(3, dtype=np.int64), np.zeros(3, dtype=bool), None, "same shape"),
    (np.zeros((2, 3)), np.zeros((2, 3), dtype=bool), None, "integers"),
    (np.zeros((2, 3), dtype=np.int64), np.zeros((2, 3), dtype=bool), [1.0], "one entry per series"),
])
def test_c2_many_refuses_what_c2_would_not_read(values, present, noise_sd, message):
    with pytest.raises(ValueError, match=message):
        c2_many(values, present, noise_sd=noise_sd)
