"""Attacks on a week's release by an analyst who reads everything it publishes.

Two attacks from the audit of the exact-count suppression that this release replaced, run against
the release as the service computes it now, each beside a mutant that decides what is shown on
exact counts again (the old rule: hidden when the count or the protected value is under k), to
show that the attack still catches what it caught then:

1. Non-negativity, by linear programming. The published values of shown cells are exact sums (they
   are consistent), every total is an equation (Grid.equations), every hidden cell is a count, so
   at least 0, and its status bounds it (below_k: under k; uncertain: at least k, its interval
   reaching under k). For each hidden cell the attacker minimises and maximises it with scipy's
   linprog. Protected values keep the sign of their estimate (service.signals.estimation), so a
   nearly empty cell can be published negative, hidden: the LP with its floor at 0 is then often
   infeasible (the attacker learns that the values are noisy) or moves the cell's range towards 0
   (it learns that counts are not negative, which it knew). Neither is a leak: the LP reads the
   published cells only, post-processing of the noisy measurements. What the tests check:
   without the floor every interval holds the cell's protected value; with it, every
   contradiction sits beside a negative value; with negligible noise (epsilon 1000, or 100 over
   HTTP) the LP pins hidden cells to their exact counts (the attack works when noise does not
   stop it). And, as the issue asks, that what the LP recovers says no more of a reporter than
   the noisy values do: membership inference decided from the LP's output alone stays within
   the release's epsilon, where against the mutant it is unbounded.
2. Membership inference. One pharmacy's reports in a cell, many releases with them and without
   them: how often the cell is shown (near the showing threshold), said to hold at least k by its
   status (at k - 1), or proved to hold at least k by the LP attack (at k - 1), gives an empirical
   privacy loss, which must stay within the release's epsilon. (The audit found the old rule
   showed a cell near k in 25% of releases with the pharmacy and never without it: an infinite
   loss.)

The other attacks (averaging by asking again, a prolific reporter, budget exhaustion, the declared
noise) are in test_signals_api.py and test_noise.py. Figures print with `pytest -s`.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterable

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linprog
from signals_support import app_config, monday, reporting  # noqa: F401 - fixtures
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.signals import noise
from service.signals.models import Release
from service.signals.protection import (
    GEO_LEVELS,
    TAX_LEVELS,
    Cell,
    CellKey,
    Grid,
    ProtectionRules,
    Status,
    Table,
    compute,
    decode_cells,
    interval,
)
from service.signals.services import compute_missing
from support import bearer

Interval = tuple[float, float]


# --- the attacker ------------------------------------------------------------------------------

def status_bounds(cell: Cell, k: int, *, signed: bool = False) -> Interval:
    """What a hidden cell's status says of its protected value: below_k, under k (and, to an
    attacker who takes it for a count, at least 0; `signed` drops that floor); uncertain, from k to
    the largest value whose published interval (from the cell's sd) still reaches under k."""
    if cell.status == Status.BELOW_K:
        return -math.inf if signed else 0.0, float(k - 1)
    assert cell.status == Status.UNCERTAIN and cell.sd is not None
    high = k
    while interval(high + 1, cell.sd)[0] < k:
        high += 1
    return float(k), float(high)


Equation = tuple[dict[CellKey, float], float]


def hidden_groups(grid: Grid, cells: Iterable[Cell]) -> list[tuple[list[CellKey], list[Equation]]]:
    """The hidden cells in groups that no total joins to each other, each with its totals as
    equations over its hidden cells (the shown values moved to the right-hand side)."""
    published = {cell.key: cell for cell in cells}
    hidden = [key for key, cell in published.items() if cell.status != Status.SHOWN]
    equations: list[Equation] = []
    for parent, children in grid.equations():
        coefficients: dict[CellKey, float] = {}
        rhs = 0.0
        for key, sign in [(parent, 1.0), *((child, -1.0) for child in children)]:
            value = published[key].value
            if value is None:
                coefficients[key] = sign
            else:
                rhs -= sign * value
        if coefficients:
            equations.append((coefficients, rhs))
    leader = {key: key for key in hidden}

    def find(key: CellKey) -> CellKey:
        while leader[key] != key:
            leader[key] = leader[leader[key]]
            key = leader[key]
        return key

    for coefficients, _ in equations:
        first, *others = coefficients
        for other in others:
            leader[find(other)] = find(first)
    groups: dict[CellKey, tuple[list[CellKey], list[Equation]]] = {}
    for key in hidden:
        groups.setdefault(find(key), ([], []))[0].append(key)
    for equation in equations:
        groups[find(next(iter(equation[0])))][1].append(equation)
    return list(groups.values())


def lp_attack(
    grid: Grid, cells: Iterable[Cell], k: int, *, signed: bool = False, only: Iterable[CellKey] | None = None,
) -> dict[CellKey, Interval | None]:
    """For every hidden cell, the least and the greatest value that the published cells allow:
    shown values as exact sums, every total of the grid, each hidden cell within what its status
    says (at least 0 unless `signed`). None for the cells of a group whose equations and bounds
    contradict each other. `only`: just these cells (of those hidden), solving only their groups."""
    cells = list(cells)
    bounds = {c.key: status_bounds(c, k, signed=signed) for c in cells if c.status != Status.SHOWN}
    wanted = set(bounds) if only is None else set(only) & set(bounds)
    found: dict[CellKey, Interval | None] = {}
    for keys, equations in hidden_groups(grid, cells):
        targets = [key for key in keys if key in wanted]
        if targets:
            found.update(_extremes(keys, targets, equations, bounds) if equations else {key: bounds[key] for key in targets})
    return found


def _extremes(
    keys: list[CellKey], targets: list[CellKey], equations: list[Equation], bounds: dict[CellKey, Interval],
) -> dict[CellKey, Interval | None]:
    column = {key: j for j, key in enumerate(keys)}
    a = np.zeros((len(equations), len(keys)))
    for i, (coefficients, _) in enumerate(equations):
        for key, sign in coefficients.items():
            a[i, column[key]] = sign
    b = np.array([rhs for _, rhs in equations])
    box = [bounds[key] for key in keys]
    found: dict[CellKey, Interval | None] = {}
    for key in targets:
        objective = np.zeros(len(keys))
        objective[column[key]] = 1.0
        extremes = []
        for sign in (1.0, -1.0):
            result = linprog(sign * objective, A_eq=a, b_eq=b, bounds=box, method="highs")
            if result.status == 2:  # infeasible: no table of such counts gives these published cells
                return dict.fromkeys(targets)
            # Unbounded (3) only without the floor at 0: a cell below k with nothing under it.
            assert result.status in (0, 3), result.message
            extremes.append(sign * result.fun if result.status == 0 else -sign * math.inf)
        found[key] = (extremes[0], extremes[1])
    return found


def suppressed_on_exact_counts(table: Table, k: int) -> Table:
    """The mutant: the same protected values, shown only when the exact count and the protected
    value are both at least k (the rule the audit attacked), hidden (below_k) otherwise."""
    status = {
        key: Status.SHOWN if table.exact[key] >= k and table.protected[key] >= k else Status.BELOW_K
        for key in table.exact
    }
    return Table(table.exact, table.protected, table.sd, status)


# --- 1. the non-negativity attack ---------------------------------------------------------------

def random_grid(rng: random.Random) -> Grid:
    """A small grid: two to five areas in up to three districts, as many categories in up to three phenomena."""
    areas, categories = rng.randint(2, 5), rng.randint(2, 5)
    districts, phenomena = rng.randint(1, min(3, areas)), rng.randint(1, min(3, categories))
    return Grid("m", {f"a{i}": f"d{i % districts}" for i in range(areas)}, {f"c{i}": f"p{i % phenomena}" for i in range(categories)})


def random_counts(grid: Grid, rng: random.Random) -> dict[tuple[str, str], int]:
    """A third of the cells empty, most of the rest around k, a few well above it."""
    def draw() -> int:
        u = rng.random()
        return 0 if u < 0.35 else rng.randint(1, 6) if u < 0.8 else rng.randint(5, 25)

    return {(area, category): draw() for area in grid.districts for category in grid.phenomena}


def random_releases(n: int, rules: ProtectionRules, seed: int) -> list[tuple[Grid, Table]]:
    """n releases of random small grids, real noise."""
    rng = random.Random(seed)
    releases = []
    for _ in range(n):
        grid = random_grid(rng)
        releases.append((grid, compute(grid, random_counts(grid, rng), rules, noise.noisy)))
    return releases


def holds(found: Interval | None, value: float) -> bool:
    """Whether an LP interval (None: infeasible) holds a value, up to the solver's tolerance."""
    return found is not None and found[0] - 1e-6 <= value <= found[1] + 1e-6


class Recovered:
    """What the LP attack recovers from releases, per hidden cell: its interval with every count at
    least 0 (None where that LP is infeasible), its interval without that floor (signed), the
    protected value, the exact count, and whether a hidden cell of its group (the cells its
    interval depends on) has a negative protected value."""

    def __init__(self, releases: Iterable[tuple[Grid, Table]], k: int, decide: Callable[[Table], Table] = lambda t: t):
        self.cells: list[tuple[Interval | None, Interval | None, int, int, bool]] = []
        self.releases = self.with_a_negative = 0
        for grid, computed in releases:
            table = decide(computed)
            published = table.cells()
            found, signed = lp_attack(grid, published, k), lp_attack(grid, published, k, signed=True)
            self.releases += 1
            self.with_a_negative += any(table.protected[key] < 0 for key in found)
            for keys, _ in hidden_groups(grid, published):
                negative = any(table.protected[key] < 0 for key in keys)
                for key in keys:
                    self.cells.append((found[key], signed[key], table.protected[key], table.exact[key], negative))

    def contradictory(self) -> int:
        """Hidden cells whose group no table of non-negative counts fits."""
        return sum(found is None for found, *_ in self.cells)

    def excluding_the_protected_value(self) -> int:
        """Hidden cells whose (feasible) interval leaves out their protected value."""
        return sum(found is not None and not holds(found, p) for found, _, p, *_ in self.cells)

    def unexplained(self) -> int:
        """Contradictions and exclusions in groups whose protected values are all at least 0: none
        can come from the floor at 0, so each would mean published cells that contradict each other."""
        return sum(not holds(found, p) for found, _, p, _, negative in self.cells if not negative)

    def signed_excluding(self) -> int:
        """Hidden cells whose signed interval (no floor at 0) leaves out their protected value."""
        return sum(not holds(signed, p) for _, signed, p, *_ in self.cells)

    def pinned(self, *, signed: bool = False) -> list[tuple[float, int, int]]:
        """(value, protected, exact) of the cells the LP pins to one value."""
        column = 1 if signed else 0
        return [(c[column][0], c[2], c[3]) for c in self.cells if c[column] is not None and c[column][1] - c[column][0] < 1e-6]

    def widths(self) -> np.ndarray:
        """The width of every feasible hidden cell's interval."""
        return np.array([found[1] - found[0] for found, *_ in self.cells if found is not None])

    def advantage(self) -> tuple[float, float]:
        """How much closer to the exact count the midpoint of a feasible interval is than the
        protected value, in mean absolute error, and the standard error of that mean. Positive
        where the floor at 0 corrects the negative protected value of an empty cell: what the
        attacker adds is the public fact that counts are not negative, nothing of a reporter."""
        gain = np.array([abs(p - x) - abs((found[0] + found[1]) / 2 - x)
                         for found, _, p, x, _ in self.cells if found is not None])
        return float(gain.mean()), float(gain.std(ddof=1) / math.sqrt(len(gain)))

    def summary(self) -> str:
        """The figures, in one line."""
        gain, error = self.advantage()
        return (f"{len(self.cells)} hidden cells in {self.releases} releases ({self.with_a_negative} with a negative one); "
                f"at least 0: {self.contradictory()} contradictory ({self.contradictory() / len(self.cells):.0%}), "
                f"{self.excluding_the_protected_value()} excluding the protected value, {self.unexplained()} unexplained "
                f"(of {sum(not c[4] for c in self.cells)} in groups without a negative value), "
                f"{len(self.pinned())} pinned, median width {np.median(self.widths()):g}, midpoint closer than the protected "
                f"value by {gain:.2f} +- {error:.2f}; signed: {len(self.pinned(signed=True))} pinned, "
                f"{self.signed_excluding()} excluding the protected value")


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 10.0, 1000.0])
def test_the_lp_recovers_at_most_the_protected_value_of_a_hidden_cell(epsilon):
    """Whatever the noise, the published cells are consistent with the protected values: without
    the floor at 0, every hidden cell's interval holds its protected value, and a cell pinned is
    pinned to it. With the floor, the LP departs from the protected values only in groups that
    hold a negative one (noise on a nearly empty cell): it is then infeasible (the attacker learns
    that the values are noisy) or shifted towards 0 (it learns that counts are not negative). Either way
    a function of the published, noisy cells and a public fact: post-processing, bounded by the
    membership tests below. At epsilon 1000 the noise is negligible and the protected values are
    the counts: the LP then pins hidden cells to their exact counts (the attack has teeth; noise
    is all that protects a value)."""
    rules = ProtectionRules(epsilon=epsilon)
    recovered = Recovered(random_releases(10, rules, seed=int(epsilon * 10)), rules.k)
    print(f"\nLP attack, epsilon {epsilon:g}: {recovered.summary()}")
    assert len(recovered.cells) >= 100  # enough hidden cells to mean something
    assert recovered.signed_excluding() == 0 and recovered.unexplained() == 0
    assert all(value == pytest.approx(p) for value, p, _ in recovered.pinned(signed=True))
    if epsilon == 1000.0:
        assert recovered.with_a_negative == recovered.contradictory() == recovered.excluding_the_protected_value() == 0
        pinned = recovered.pinned()
        assert len(pinned) >= 20 and all(value == pytest.approx(x) and p == x for value, p, x in pinned)


def test_the_consistency_check_catches_suppression_decided_on_exact_counts():
    """The teeth of the check above: the mutant hides cells whose protected value is at least k
    when their count is under k, and calls them below_k. The statuses then contradict the values:
    the signed LP leaves protected values out (over a hundred cells in ten releases). The LP with
    the floor contradicts them too in groups with no negative value to blame, but such groups are
    few at epsilon 1 (a handful to a score of cells): printed, not asserted."""
    rules = ProtectionRules()
    recovered = Recovered(random_releases(10, rules, seed=7), rules.k, lambda table: suppressed_on_exact_counts(table, rules.k))
    print(f"\nLP attack, cells shown on exact counts: {recovered.summary()}")
    assert recovered.signed_excluding() > 0


def test_the_lp_over_http_recovers_the_protected_values_and_nothing_else(app_with, partners, clock):
    """Through the service: a week released with negligible noise (epsilon 100), all six parts
    read by an analyst, attacked. Without the floor at 0, every hidden cell's interval holds the
    protected value the service stored; with it, every cell of a group without a negative value
    (all of them, unless a rare draw pushed an empty cell under 0) does too; the cell of k - 1
    reports is pinned to it, which here is the count: at epsilon 100 nothing but noise could have
    hidden it, and there is next to none."""
    from signals_support import Reporting

    app = app_with(SIGNALS_EPSILON_PER_RELEASE=100, SIGNALS_BUDGET_PER_QUARTER=1000)
    reporting = Reporting(app.test_client(), partners, clock)
    week = monday(clock.now)
    for area, category, n in (("n1", "dv_mask19", 4), ("n2", "dv_mask19", 9), ("n3", "dv_mask19", 11),
                              ("n1", "housing_need", 12), ("n2", "housing_need", 2), ("n3", "loneliness", 3),
                              ("n1", "vandalism", 6), ("n2", "vandalism", 1)):
        reporting.spread(area, category, n)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(week)
    published, k = [], None
    for geo in GEO_LEVELS:
        for taxonomy in TAX_LEVELS:
            body = reporting.counts(token, week, geo, taxonomy)
            k = body["k"]
            for c in body["cells"]:
                published.append(Cell(geo, c[geo], taxonomy, c[taxonomy], c["value"], c["status"], c["low"], c["high"], c["sd"]))
    state = app.extensions["safesignal"]
    grid = state.signals.grids["north"]
    assert {cell.key for cell in published} == set(grid.keys())
    with Session(state.engine) as session:
        (stored,) = session.scalars(select(Release.cells).where(Release.municipality == "north", Release.week == week))
    protected = {cell.key: cell.value for cell in decode_cells(stored, protected=True)}

    assert k == 5
    found, signed = lp_attack(grid, published, k), lp_attack(grid, published, k, signed=True)
    assert len(found) == sum(cell.status != "shown" for cell in published) > 100
    assert all(holds(signed[key], protected[key]) for key in found)
    checked = [key for keys, _ in hidden_groups(grid, published) if min(protected[key] for key in keys) >= 0 for key in keys]
    assert len(checked) > 100
    assert all(holds(found[key], protected[key]) for key in checked)
    assert found[("area", "n1", "category", "dv_mask19")] == pytest.approx((4, 4))
    assert found[("area", "n2", "category", "vandalism")] == pytest.approx((1, 1))
    pinned = sum(bounds is not None and bounds[1] - bounds[0] < 1e-6 for bounds in found.values())
    print(f"\nLP attack over HTTP, epsilon 100: {len(found)} hidden cells of {len(published)}, {len(checked)} in groups "
          f"without a negative value, {sum(bounds is None for bounds in found.values())} contradictory, {pinned} pinned")


# --- 2. membership inference on the pattern -----------------------------------------------------

def privacy_loss(hits_with: int, hits_without: int, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """The empirical privacy loss of an event seen in `hits_with` of n releases with the target
    and `hits_without` of n without, with a confidence interval: (estimate, low, high).

    The estimate is the larger of |ln(p1/p0)| (the event) and |ln((1-p1)/(1-p0))| (its
    complement); an epsilon-DP release keeps both within epsilon. The interval: exact
    Clopper-Pearson intervals for p1 and p0, each at 1 - (1 - confidence)/2 so that both hold at
    once with `confidence` (Bonferroni); each log ratio then ranges over the box they make.
    """
    level = 1 - (1 - confidence) / 2
    ci1 = stats.binomtest(hits_with, n).proportion_ci(level, method="exact")
    ci0 = stats.binomtest(hits_without, n).proportion_ci(level, method="exact")
    p1, p0 = hits_with / n, hits_without / n

    def log_ratio(a: float, b: float) -> float:
        return math.inf if b == 0 and a > 0 else -math.inf if a == 0 and b > 0 else 0.0 if a == b == 0 else math.log(a / b)

    def magnitude(low: float, high: float) -> tuple[float, float]:
        return (0.0, max(-low, high)) if low <= 0 <= high else (low, high) if low > 0 else (-high, -low)

    estimate, lows, highs = 0.0, [], []
    for (a, a_low, a_high), (b, b_low, b_high) in (
        ((p1, ci1.low, ci1.high), (p0, ci0.low, ci0.high)),
        ((1 - p1, 1 - ci1.high, 1 - ci1.low), (1 - p0, 1 - ci0.high, 1 - ci0.low)),
    ):
        estimate = max(estimate, abs(log_ratio(a, b)))
        low, high = magnitude(log_ratio(a_low, b_high), log_ratio(a_high, b_low))
        lows.append(low)
        highs.append(high)
    return estimate, max(lows), max(highs)


def test_the_privacy_loss_estimate_and_its_interval():
    estimate, low, high = privacy_loss(50, 25, 100)
    assert estimate == pytest.approx(math.log(2))  # ln(0.5/0.25) > |ln(0.5/0.75)|
    assert 0 < low < estimate < high < math.inf
    assert privacy_loss(40, 40, 100)[:2] == (0.0, 0.0)
    assert privacy_loss(30, 0, 100)[0] == math.inf and privacy_loss(30, 0, 100)[1] > 1
    assert privacy_loss(100, 60, 100)[0] == math.inf  # the complement: never hidden with the target


MI_GRID = Grid("m", {"a0": "d0", "a1": "d0", "a2": "d1"}, {"c0": "p0", "c1": "p0", "c2": "p1"})
TARGET = ("area", "a0", "category", "c0")
NEIGHBOURS = {("a1", "c0"): 7, ("a2", "c1"): 12}


def showing_threshold(sd: float, k: int) -> int:
    """The least protected value that is shown: its published interval lies at or above k."""
    return next(value for value in range(k, 10_000) if interval(value, sd)[0] >= k)


def target_statuses(count: int, n: int, rules: ProtectionRules) -> list[tuple[Status, Status]]:
    """The target cell's status in n fresh releases with `count` reports in it: as the service
    decides it, and as the mutant would."""
    statuses = []
    for _ in range(n):
        table = compute(MI_GRID, {("a0", "c0"): count, **NEIGHBOURS}, rules, noise.noisy)
        statuses.append((table.status[TARGET], suppressed_on_exact_counts(table, rules.k).status[TARGET]))
    return statuses


def test_membership_of_one_pharmacy_near_the_threshold_stays_within_epsilon():
    """One pharmacy contributes `cap` reports to a cell whose other reports put it just under the
    showing threshold: t - 1 without the pharmacy, t + 1 with it, where t is the least protected
    value shown (k + 1.645 sd, rounded; 19 at the default settings on this grid). The cell is then
    shown about half the time either way (p0 ~ 0.47, p1 ~ 0.58 over 10,000 releases each), where
    a difference in probability is measured most precisely; at k - 1 being shown is rare either
    way (0.04 and 0.07), and the ratio of two small probabilities is lost in sampling error. The
    declared epsilon of the release (every part the cell is in) bounds the loss of this event and
    of its complement; the estimate's 95% interval must not lie above it, and must be narrow
    enough (under epsilon wide) that a loss of twice epsilon would have shown."""
    rules = ProtectionRules()
    sd = next(c.sd for c in compute(MI_GRID, {}, rules, noise.noisy).cells() if c.key == TARGET)
    threshold = showing_threshold(sd, rules.k)
    n = 600
    without = sum(s == Status.SHOWN for s, _ in target_statuses(threshold - 1, n, rules))
    with_target = sum(s == Status.SHOWN for s, _ in target_statuses(threshold - 1 + rules.cap, n, rules))
    estimate, low, high = privacy_loss(with_target, without, n)
    print(f"\nmembership, default settings (threshold {threshold}, sd {sd}): shown in {with_target}/{n} with the pharmacy, "
          f"{without}/{n} without; eps_hat {estimate:.3f}, 95% CI [{low:.3f}, {high:.3f}], declared {rules.spent():g}")
    assert 0.2 < without / n < 0.8 and 0.2 < with_target / n < 0.8  # the design point holds
    assert low <= rules.spent()
    assert high - low < rules.spent()


def test_membership_at_k_stays_within_epsilon_and_catches_decisions_on_exact_counts():
    """Where a rule on exact counts bites: k - 1 reports without the pharmacy, k - 1 + cap with it.
    The event is the pattern saying "at least k" (shown or uncertain, not below_k): decided on the
    protected value it happens about half the time either way, and its loss stays within epsilon.
    The teeth: the mutant (hidden when the exact count is under k) never says it without the
    pharmacy and says it about half the time with it: p0 = 0, an infinite estimate, and a lower
    bound far above epsilon, from the very same releases. (Hiding every cell under k exactly and
    keeping the interval rule above it fails here as well: p0 = 0 again.)"""
    rules = ProtectionRules()
    n = 400
    without = target_statuses(rules.k - 1, n, rules)
    with_target = target_statuses(rules.k - 1 + rules.cap, n, rules)
    hits, losses = {}, {}
    for rule, column in (("the service's rule", 0), ("cells shown on exact counts", 1)):
        hits[rule] = [sum(statuses[column] != Status.BELOW_K for statuses in arm) for arm in (with_target, without)]
        losses[rule] = privacy_loss(*hits[rule], n)
        estimate, low, high = losses[rule]
        print(f"\nmembership at k - 1, event 'at least k', {rule}: {hits[rule][0]}/{n} with the pharmacy, "
              f"{hits[rule][1]}/{n} without; eps_hat {estimate:.3f}, 95% CI [{low:.3f}, {high:.3f}]")
    service, mutant = losses.values()
    assert service[1] <= rules.spent() and service[2] < math.inf
    assert hits["cells shown on exact counts"][1] == 0 and mutant[0] == math.inf
    assert mutant[1] > 2 * rules.spent()


# The target's sibling in its district (a1) and in its phenomenon (c1) hold thirty reports each,
# and are shown, as are the totals over them: whenever the target is hidden, the LP pins it.
LP_NEIGHBOURS = {("a1", "c0"): 30, ("a0", "c1"): 30, ("a2", "c2"): 12}


def target_range(table: Table, k: int) -> Interval | None:
    """What the LP attack says of the target cell: its value when shown, else its LP interval
    (every count at least 0), None when that LP is infeasible."""
    published = table.cells()
    target = next(cell for cell in published if cell.key == TARGET)
    if target.status == Status.SHOWN:
        return float(target.value), float(target.value)  # type: ignore[arg-type]
    return lp_attack(MI_GRID, published, k, only=[TARGET])[TARGET]


def test_membership_through_the_lp_attack_stays_within_epsilon_and_catches_decisions_on_exact_counts():
    """Membership inference that decides from the LP attack's output alone: k - 1 reports in the
    target cell without the pharmacy, k - 1 + cap with it, many releases of each at the default
    settings, real noise. The attacker says "the pharmacy is in" when the LP proves the target
    holds at least k (its lower bound, or its value when shown, is at least k; an infeasible LP
    says nothing). Of the events on the LP's output tried over 300 releases per arm (lower bound
    at least x, upper bound at least x or at most x, pinned at x or more, for x from -2 to 11,
    and infeasibility), this one separates the two arms best for the mutant, with "pinned at k or
    more" and "upper bound at least k" (the same releases there): a strong attack, not one chosen
    to be weak. The LP reads the published cells only, so its loss stays within the release's
    epsilon; the mutant's statuses, decided on exact counts, never let the LP prove k without the
    pharmacy (a cell under k is always hidden as below_k, its bound at most k - 1), and prove it in
    about half the releases with it: an infinite estimate, its lower bound far above epsilon."""
    rules = ProtectionRules()
    n = 400
    ranges: dict[str, list[list[Interval | None]]] = {"the service's rule": [[], []], "cells shown on exact counts": [[], []]}
    for arm, count in enumerate((rules.k - 1 + rules.cap, rules.k - 1)):
        for _ in range(n):
            table = compute(MI_GRID, {("a0", "c0"): count, **LP_NEIGHBOURS}, rules, noise.noisy)
            ranges["the service's rule"][arm].append(target_range(table, rules.k))
            ranges["cells shown on exact counts"][arm].append(target_range(suppressed_on_exact_counts(table, rules.k), rules.k))
    losses = {}
    for rule, arms in ranges.items():
        hits = [sum(found is not None and found[0] >= rules.k - 1e-6 for found in arm) for arm in arms]
        infeasible = [sum(found is None for found in arm) for arm in arms]
        pinned = [sum(found is not None and found[1] - found[0] < 1e-6 for found in arm) for arm in arms]
        losses[rule] = estimate, low, high = privacy_loss(*hits, n)
        print(f"\nmembership through the LP at k - 1, event 'the LP proves at least k', {rule}: {hits[0]}/{n} with the "
              f"pharmacy, {hits[1]}/{n} without; eps_hat {estimate:.3f}, 95% CI [{low:.3f}, {high:.3f}], declared "
              f"{rules.spent():g} (LP infeasible {infeasible[0]} and {infeasible[1]}, "
              f"target pinned or shown {pinned[0]} and {pinned[1]})")
    service, mutant = losses.values()
    assert service[1] <= rules.spent() and service[2] < math.inf
    assert mutant[0] == math.inf and mutant[1] > 2 * rules.spent()


def test_membership_through_the_service_release_code_stays_within_epsilon(app, reporting, clock):
    """The same experiment through the service: reports over HTTP, the target pharmacy sending
    forty (the tallies cap it at two), each week released by the service's own code
    (compute_missing: tallies, bounding in SQL, the grid of the area file, OpenDP) a hundred times,
    read as the API serves it. One week without the pharmacy, one with it. Fewer releases than
    above, so a wider interval; it still may not lie above epsilon (with the cap broken it would:
    the cell would be shown nearly every time with the pharmacy).

    Every other cell of the target's phenomenon holds ten reports, as in a busy week. (When
    rounding forced every value to 0 or above, a lone cell beside empty ones came out far under
    its count and was hardly ever shown; the rounding keeps signs now, and these neighbours stay
    so that the cell is measured among real counts.)"""
    state = app.extensions["safesignal"]
    rules = state.signals.rules.protection
    grid = state.signals.grids["north"]
    target = ("area", "n1", "category", "dv_mask19")
    sd = next(c.sd for c in compute(grid, {}, rules, noise.noisy).cells() if c.key == target)
    base = showing_threshold(sd, rules.k) - 1
    phenomenon = sorted(c for c, p in grid.phenomena.items() if p == grid.phenomena["dv_mask19"])
    weeks = [monday(clock.now), monday(clock.now) + dt.timedelta(days=7)]
    for week in weeks:
        observed = (clock.now - dt.timedelta(minutes=30)).isoformat()
        for area in ("n1", "n2", "n3"):
            for number in range(5):  # five pharmacies, two reports each in every neighbouring cell
                reports = [{"category": c, "observed_at": observed} for c in phenomenon for _ in range(rules.cap)
                           if (area, c) != ("n1", "dv_mask19")]
                response = reporting.client.post("/v1/pharmacy/reports/batch", json={"reports": reports},
                                                 headers=bearer(reporting.pharmacy(area, number)))
                assert response.get_json()["accepted"] == len(reports)
        for number in range(0, base, rules.cap):  # each pharmacy within the cap
            reporting.report("n1", "dv_mask19", min(rules.cap, base - number), pharmacy=number)
        if week == weeks[1]:
            reporting.report("n1", "dv_mask19", 40, pharmacy=999)
        clock.advance(days=7)
    clock.now = reporting.release_time(weeks[1])
    n = 100
    shown = dict.fromkeys(weeks, 0)
    with Session(state.engine) as session:
        for week in weeks:
            for _ in range(n):
                (release,) = [r for r in compute_missing(session, state.signals, week, clock.now) if r.municipality == "north"]
                shown[week] += next(c for c in decode_cells(release.cells) if c.key == target).status == Status.SHOWN
    estimate, low, high = privacy_loss(shown[weeks[1]], shown[weeks[0]], n)
    print(f"\nmembership through the service (threshold {base + 1}, sd {sd}): shown in {shown[weeks[1]]}/{n} with the "
          f"pharmacy, {shown[weeks[0]]}/{n} without; eps_hat {estimate:.3f}, 95% CI [{low:.3f}, {high:.3f}]")
    assert low <= rules.spent()
    # What an analyst reads is what compute_missing computes: the same cell with the same sd.
    token = reporting.analyst("north")
    cells = {(c["area"], c["category"]): c for c in reporting.counts(token, weeks[1])["cells"]}
    assert cells[("n1", "dv_mask19")]["sd"] == sd
