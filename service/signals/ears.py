"""Aberration detection on weekly protected counts: the EARS C2 method, adapted to weeks.

A week is flagged when its protected count rises well above the count of the weeks shortly before
it. The method is C2 of CDC's Early Aberration Reporting System (Hutwagner L, Thompson W, Seeman
GM, Treadwell T. "The bioterrorism preparedness and response Early Aberration Reporting System
(EARS)". J Urban Health 2003;80(2 Suppl 1):i89-96), as implemented by `earsC(method = "C2")` in
the R package `surveillance`:

    expected  = mean of the baseline weeks
    sd        = max(sample standard deviation of the baseline weeks, min_sd)
    statistic = (observed - expected) / sd
    flagged   = statistic > threshold and observed > expected

with a baseline of 7 periods ending 2 periods before the tested one. For a tested week t:

    weeks   t-9 ... t-3   t-2  t-1   t
            baseline (7)  guard (2)  tested

Why this method and these numbers:

- EARS needs only a few weeks of history. Ours is short: categories and areas are added over
  time, and past weeks exist only as protected weekly aggregates (the reports themselves are
  shredded after weeks), while seasonal methods (Farrington, historical limits) want years.
- The guard band is what separates C2 from C1. A real rise usually builds over more than one
  week; without the guard its first weeks would enter the baseline, raise the mean and the
  standard deviation, and hide the rise they belong to. Two weeks is earsC's choice for C2.
- EARS was built for daily counts with a 7-day baseline. On weekly data the same 7 periods span
  seven weeks: long enough for a standard deviation worth the name, short enough to follow a
  slow trend rather than flag it.
- The threshold of 3 standard deviations is Hutwagner's; earsC derives 3.09 from alpha = 0.001.
  Neither is a calibrated false-alarm rate on counts this small: it is a screen for an analyst
  to look at, not a test result.
- The sample standard deviation (n - 1), as R's `sd` that earsC uses.
- min_sd is earsC's `minSigma`. Without it a flat baseline (5, 5, 5, ...) has sd 0 and any +1
  would flag with an infinite statistic. The default of 1.0 is a floor for callers that add no
  noise.
- Callers that add differential-privacy noise pass its standard deviation for the cell
  (`noise_sd`), and the floor becomes sqrt(noise_sd^2 + max(expected, 0)): the noise plus the Poisson
  variation of a count of the expected size. A rise within that cannot be told from chance, so it
  must not be reported as a signal; and seven baseline weeks often underestimate the spread by
  luck, which alone made about 1.5 false alarms per 100 cell-weeks (Student's t with 6 degrees of
  freedom past 2.8). With the floor it is about 0.3 (bench/signals_utility.py measures it).
- A baseline week may be missing (None): a week never released. It is left out, not read as zero.
  earsC has no such rule (one NA makes its verdict NA); here a verdict needs at least
  `min_baseline` present baseline weeks, because the standard deviation of two or three values is
  too unstable to divide by. A tested week not shown (None) gets no verdict.
- Weeks before the start of the series count as missing, so a young series gets
  "short_baseline" rather than an error.

Pure: no Flask, no database, no clock. The caller picks the weeks and orders them. `c2` tests one
series and is the reference; `c2_many` gives the same verdicts for many series at once with numpy
(an alerts request tests every cell of a part: 5,000 for a city's areas).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Reason = Literal["flagged", "within_baseline", "not_shown", "short_baseline"]


@dataclass(frozen=True)
class EarsRules:
    """How c2 reads a series: window sizes, the flagging threshold and the floor on sd.

    baseline      weeks in the baseline (earsC's `baseline`, 7 by default)
    guard         weeks between the baseline and the tested week (2 for C2; 0 gives C1)
    threshold     standardised rise above which a week is flagged
    min_baseline  fewest present (released) baseline weeks needed for a verdict
    min_sd        floor on the baseline standard deviation (the noise's goes to c2 as noise_sd)
    """

    baseline: int = 7
    guard: int = 2
    threshold: float = 3.0
    min_baseline: int = 4
    min_sd: float = 1.0

    def __post_init__(self) -> None:
        # bool is an int subclass; EarsRules(baseline=True) is a mistake, not a one-week baseline.
        for name in ("baseline", "guard", "min_baseline"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if self.baseline < 2:
            raise ValueError(f"baseline must be at least 2 weeks, got {self.baseline}")
        # Zero is allowed: it is EARS C1, a documented sibling of C2.
        if self.guard < 0:
            raise ValueError(f"guard must not be negative, got {self.guard}")
        if not 2 <= self.min_baseline <= self.baseline:
            raise ValueError(
                f"min_baseline must be between 2 and baseline ({self.baseline}), "
                f"got {self.min_baseline}"
            )
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise ValueError(f"threshold must be a finite number above 0, got {self.threshold!r}")
        if not (math.isfinite(self.min_sd) and self.min_sd > 0):
            raise ValueError(f"min_sd must be a finite number above 0, got {self.min_sd!r}")


@dataclass(frozen=True)
class Verdict:
    """The outcome of c2 for one tested week.

    expected and sd are None exactly when the baseline is short; statistic and rise are None
    when the baseline is short or the tested week is not shown. sd is the value divided by,
    after the min_sd floor.
    """

    observed: int | None
    expected: float | None
    sd: float | None
    statistic: float | None
    rise: float | None
    flagged: bool
    reason: Reason


def required_weeks(rules: EarsRules = EarsRules()) -> int:
    """How many weeks of history, the tested week included, c2 reads."""
    return 1 + rules.guard + rules.baseline


def c2(series: Sequence[int | None], rules: EarsRules = EarsRules(), *, noise_sd: float | None = None) -> Verdict:
    """Test the last week of a series (oldest first, None = missing or not shown) against its
    baseline; `noise_sd` is the standard deviation of the noise on each value, if any."""
    if not series:
        raise ValueError("series is empty: there is no week to test")
    observed = series[-1]
    # Slicing clamps at the start of the series, so weeks before it are simply absent.
    window = series[-required_weeks(rules) : -(1 + rules.guard)]
    present = [value for value in window if value is not None]

    expected = sd = None
    if len(present) >= rules.min_baseline:
        # From integer sums: n * sum(v^2) - sum(v)^2 is exact, so mean and variance are each one
        # correctly rounded division (statistics.stdev's fractions made c2 the slowest part of an
        # alerts request). c2_many computes the same operations on arrays, bit for bit.
        n, total = len(present), sum(present)
        expected = total / n
        variance = (n * sum(value * value for value in present) - total * total) / (n * (n - 1))
        floor = rules.min_sd if noise_sd is None else max(rules.min_sd, math.sqrt(noise_sd * noise_sd + max(expected, 0.0)))
        sd = max(math.sqrt(variance), floor)

    if observed is None:
        return Verdict(observed, expected, sd, None, None, False, "not_shown")
    if expected is None or sd is None:
        return Verdict(observed, None, None, None, None, False, "short_baseline")

    rise = observed - expected
    statistic = rise / sd
    # With threshold > 0 the first condition implies the second; both are kept so that a drop can
    # never be reported as a rise, whatever a future change does to the rules.
    flagged = statistic > rules.threshold and observed > expected
    reason: Reason = "flagged" if flagged else "within_baseline"
    return Verdict(observed, expected, sd, statistic, rise, flagged, reason)


@dataclass(frozen=True)
class Verdicts:
    """The verdicts of many series, column by column: entry i of each says what `Verdict` says of
    series i, with NaN where Verdict has None (and `observed` meaningful where `shown` only)."""

    observed: np.ndarray  # int64
    shown: np.ndarray  # bool: the tested week has a value
    expected: np.ndarray  # float64, like sd, statistic and rise
    sd: np.ndarray
    statistic: np.ndarray
    rise: np.ndarray
    flagged: np.ndarray  # bool
    reason: list[Reason]

    def __len__(self) -> int:
        return len(self.reason)

    def __getitem__(self, i: int) -> Verdict:
        figures = [None if math.isnan(v) else float(v) for v in (self.expected[i], self.sd[i], self.statistic[i], self.rise[i])]
        return Verdict(int(self.observed[i]) if self.shown[i] else None, *figures, bool(self.flagged[i]), self.reason[i])


def c2_many(
    values: np.ndarray, present: np.ndarray, rules: EarsRules = EarsRules(), *,
    noise_sd: Sequence[float | None] | np.ndarray | None = None,
) -> Verdicts:
    """`c2` of every row of a matrix of series: `values` (integers, one row per series, oldest
    week first, the tested week last), `present` (False where c2 reads None) and each row's
    `noise_sd` (None or NaN: none). The same verdicts as c2 row by row, to the last bit."""
    values, present = np.asarray(values), np.asarray(present, dtype=bool)
    if values.ndim != 2 or values.shape != present.shape:
        raise ValueError("values and present must be matrices of the same shape")
    rows, length = values.shape
    if length == 0:
        raise ValueError("series is empty: there is no week to test")
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError("values must be integers, as c2's counts")
    if noise_sd is None:
        sds = np.full(rows, np.nan)
    elif isinstance(noise_sd, np.ndarray):
        sds = noise_sd.astype(float)
    else:
        sds = np.array([np.nan if s is None else s for s in noise_sd], dtype=float)
    if sds.shape != (rows,):
        raise ValueError("noise_sd must have one entry per series")
    # c2's integer sums are exact; here they are exact in int64 and convert to float64 exactly
    # while n * sum(v^2) stays below 2^53. Counts that large (over a million reports in one cell
    # in one week) go through c2 itself.
    largest = int(np.abs(np.where(present, values, 0)).max(initial=0))
    if largest > math.isqrt(2**53 // (rules.baseline * rules.baseline)):
        return _one_by_one(values, present, rules, sds)
    values = values.astype(np.int64)
    window = slice(-required_weeks(rules), -(1 + rules.guard))  # as c2 slices: clamped at the start
    counted = np.where(present[:, window], values[:, window], 0)
    n = present[:, window].sum(axis=1)
    total = counted.sum(axis=1)
    enough = n >= rules.min_baseline
    shown = present[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(enough, total / n, np.nan)
        variance = (n * (counted * counted).sum(axis=1) - total * total) / (n * (n - 1))
        floor = np.where(np.isnan(sds), rules.min_sd,
                         np.maximum(rules.min_sd, np.sqrt(sds * sds + np.maximum(expected, 0.0))))
        sd = np.where(enough, np.maximum(np.sqrt(variance), floor), np.nan)
        observed = np.where(shown, values[:, -1], 0)
        rise = np.where(shown, observed - expected, np.nan)
        statistic = rise / sd
    flagged = enough & shown & (statistic > rules.threshold) & (observed > expected)
    reason = np.where(~shown, "not_shown", np.where(~enough, "short_baseline",
                                                   np.where(flagged, "flagged", "within_baseline")))
    return Verdicts(observed, shown, expected, sd, statistic, rise, flagged, reason.tolist())


def _one_by_one(values: np.ndarray, present: np.ndarray, rules: EarsRules, sds: np.ndarray) -> Verdicts:
    verdicts = [
        c2([v if p else None for v, p in zip(row, mask)], rules, noise_sd=None if math.isnan(s) else s)
        for row, mask, s in zip(values.tolist(), present.tolist(), sds.tolist())
    ]
    figures = [np.array([np.nan if getattr(v, name) is None else getattr(v, name) for v in verdicts], dtype=float)
               for name in ("expected", "sd", "statistic", "rise")]
    return Verdicts(
        np.array([v.observed or 0 for v in verdicts], dtype=np.int64), np.array([v.observed is not None for v in verdicts]),
        *figures, np.array([v.flagged for v in verdicts], dtype=bool), [v.reason for v in verdicts],
    )
