"""Computing a release: roll-ups, noise, consistency, and what is shown, decided on protected
values only. Pure: no database."""

from __future__ import annotations

import math
import random

import pytest

from service.signals import noise
from service.signals.estimation import PARTS
from service.signals.protection import (
    Z,
    Grid,
    ProtectionRules,
    Status,
    compute,
    decode_cells,
    decode_part,
    encode_table,
    exact_parts,
)
from service.signals.weeks import parse_week, quarter_of, week_label


def no_noise(values, scale):  # type: ignore[no-untyped-def]
    return list(values)


def grid(areas: int = 6, districts: int = 2, categories: int = 5, phenomena: int = 2) -> Grid:
    return Grid(
        "m",
        {f"a{i:02d}": f"d{i % districts}" for i in range(areas)},
        {f"c{i:02d}": f"p{i % phenomena}" for i in range(categories)},
    )


def random_counts(g: Grid, rng: random.Random, mean: float = 4) -> dict[tuple[str, str], int]:
    return {(a, c): int(rng.expovariate(1 / mean)) for a in g.districts for c in g.phenomena}


def test_the_grid_has_six_parts_and_every_total_as_an_equation():
    g = grid(areas=6, districts=2, categories=5, phenomena=2)
    keys = g.keys()
    assert len(keys) == len(set(keys)) == (6 + 2 + 1) * (5 + 2)
    assert {(k[0], k[2]) for k in keys} == set(PARTS) and len(PARTS) == 6
    # per taxonomy node: 2 district totals + 1 municipality total; per geo node: 2 phenomenon totals
    assert len(g.equations()) == 7 * 3 + 9 * 2


def test_exact_counts_roll_up_along_both_hierarchies():
    g = grid()
    parts = exact_parts(g, g.hierarchy(), {("a00", "c00"): 3, ("a02", "c00"): 4, ("a01", "c02"): 5, ("zz", "c00"): 99, ("a00", "zz"): 99})
    table = compute(g, {("a00", "c00"): 3, ("a02", "c00"): 4, ("a01", "c02"): 5, ("zz", "c00"): 99}, ProtectionRules(), no_noise)
    for parent, children in g.equations():
        assert table.exact[parent] == sum(table.exact[c] for c in children)
    assert table.exact[("district", "d0", "category", "c00")] == 7
    assert table.exact[("municipality", "m", "phenomenon", "p0")] == 3 + 4 + 5  # c00, c02 are both in p0
    assert int(parts["municipality", "category"].sum()) == 12  # outsiders ignored


def test_published_totals_add_up_along_both_hierarchies_and_shown_values_are_at_least_k():
    rng = random.Random(1)
    for _ in range(30):
        g = grid(areas=rng.randint(1, 9), districts=rng.randint(1, 3), categories=rng.randint(1, 6), phenomena=rng.randint(1, 3))
        table = compute(g, random_counts(g, rng), ProtectionRules(epsilon=rng.choice([0.1, 1.0, 10.0])), noise.noisy)
        for parent, children in g.equations():
            assert table.protected[parent] == sum(table.protected[c] for c in children)
        # A protected value may be negative (noise on an empty cell): never one that is shown.
        assert all(c.value >= 5 for c in table.cells() if c.value is not None)


def test_a_count_beside_empty_cells_is_published_without_bias():
    """The audit's case: 20 reports in one cell of an otherwise empty grid came out near 9 on
    average when rounding forced every estimate to 0 or above."""
    g = Grid("north", {"n1": "c", "n2": "c", "n3": "h"}, {f"c{i}": f"p{i % 2}" for i in range(6)})
    rules = ProtectionRules()
    values = [compute(g, {("n1", "c0"): 20}, rules, noise.noisy).protected[("area", "n1", "category", "c0")] for _ in range(600)]
    sd = compute(g, {}, rules, noise.noisy).sd[("area", "n1", "category", "c0")]
    assert abs(sum(values) / len(values) - 20) < 4 * sd / math.sqrt(len(values)) + 0.5


def test_with_negligible_noise_the_protected_values_are_the_counts():
    g = grid(areas=8, districts=2, categories=5)
    bounded = random_counts(g, random.Random(2), mean=20)
    table = compute(g, bounded, ProtectionRules(epsilon=1000.0), noise.noisy)
    assert max(abs(table.protected[key] - table.exact[key]) for key in table.exact) <= 1


def test_the_release_reads_the_counts_only_through_the_noise():
    """Two weeks with different exact counts whose noisy measurements happen to be equal publish
    byte for byte the same release: values, intervals and statuses are post-processing."""
    g = grid(areas=7, districts=3, categories=5)
    rng = random.Random(3)
    rules = ProtectionRules(k=5, epsilon=1.0)
    measured = {}

    def record(values, scale):  # type: ignore[no-untyped-def]
        drawn = noise.noisy(values, scale)
        measured.setdefault("draws", []).append(drawn)
        return drawn

    first = compute(g, random_counts(g, rng), rules, record)
    replay = iter(measured["draws"])
    second = compute(g, random_counts(g, rng, mean=9), rules, lambda values, scale: next(replay))
    assert first.exact != second.exact
    assert encode_table(first) == encode_table(second)


def test_what_is_shown_is_decided_on_the_protected_value_and_its_interval():
    rng = random.Random(4)
    g = grid(areas=10, districts=2, categories=6)
    rules = ProtectionRules(k=5, epsilon=2.0)
    for _ in range(10):
        table = compute(g, random_counts(g, rng, mean=6), rules, noise.noisy)
        for key, status in table.status.items():
            value, sd = table.protected[key], table.sd[key]
            if status == Status.SHOWN:
                assert value - Z * sd >= rules.k - 0.5
            elif status == Status.BELOW_K:
                assert value < rules.k
            else:
                assert value >= rules.k > value - Z * sd - 0.5
        published = {c.key: c for c in table.cells()}
        assert all((c.value is None) == (c.status != Status.SHOWN) for c in published.values())
        assert all(c.low is not None and c.low >= rules.k and c.low <= c.value <= c.high
                   for c in published.values() if c.status == Status.SHOWN)


def test_a_cell_of_k_minus_1_is_rarely_shown():
    """The interval's margin: a small cell crosses it only when the noise is past 1.645 sd."""
    g = grid(areas=2, districts=1, categories=2, phenomena=1)
    rules = ProtectionRules(k=5, epsilon=1.0)
    shown = sum(
        compute(g, {("a00", "c00"): 4}, rules, noise.noisy).status[("area", "a00", "category", "c00")] == Status.SHOWN
        for _ in range(400)
    )
    assert shown <= 0.05 * 400 + 3 * math.sqrt(0.05 * 0.95 * 400)


def test_the_noise_sd_depends_on_the_grid_and_the_rules_only():
    g = grid(areas=9, districts=3, categories=4)
    rules = ProtectionRules()
    first = compute(g, {}, rules, noise.noisy).sd
    assert compute(g, random_counts(g, random.Random(5), mean=50), rules, noise.noisy).sd == first
    # Consistency narrows every measured part below its own noise.
    for part in PARTS:
        if rules.scale(part) is not None:
            assert max(sd for key, sd in first.items() if (key[0], key[2]) == part) < math.sqrt(rules.variance(part))


def test_cells_survive_their_stored_form():
    g = grid()
    table = compute(g, {("a00", "c00"): 90, ("a01", "c00"): 70}, ProtectionRules(k=5, epsilon=50.0), noise.noisy)
    stored = encode_table(table)
    assert {c.key: c for c in decode_cells(stored)} == {c.key: c for c in table.cells()}
    assert {c.key: c for c in decode_cells(stored, protected=True)} == {c.key: c for c in table.cells(protected=True)}
    assert len(decode_cells(stored)) == len(table.cells())
    assert any(c.value is None for c in decode_cells(stored)) and all(c.value is not None for c in decode_cells(stored, protected=True))
    assert {(c.geo_level, c.tax_level) for c in decode_part(stored, "district", "phenomenon")} == {("district", "phenomenon")}


def test_rules_refuse_nonsense():
    for kwargs in ({"k": 0}, {"cap": 0}, {"epsilon": 0.0}, {"epsilon": -1.0}, {"epsilon": math.inf}):
        with pytest.raises(ValueError):
            ProtectionRules(**kwargs)
    full = dict(ProtectionRules().split)
    for split in ({**full, "area/category": 0.0, "district/category": 0.8}, {**full, "district/category": 0.7},
                  {k: v for k, v in full.items() if k != "district/phenomenon"}, {**full, "area/category": -0.1, "district/category": 0.9}):
        with pytest.raises(ValueError):
            ProtectionRules(split=tuple(split.items()))
    rules = ProtectionRules(cap=2, epsilon=1.0)
    assert rules.scale(("district", "category")) == pytest.approx(2 / 0.6)
    assert rules.scale(("municipality", "phenomenon")) is None


@pytest.mark.parametrize(("text", "monday"), [("2026-W48", "2026-11-23"), ("2026-W53", "2026-12-28"), ("2027-W01", "2027-01-04")])
def test_week_labels_round_trip(text, monday):
    week = parse_week(text)
    assert week is not None and week.isoformat() == monday and week_label(week) == text


@pytest.mark.parametrize("text", ["2025-W53", "2026-W00", "2026-W54", "2026-48", "2026-W4", "२०२६-W48", "2026-W4８", ""])
def test_bad_week_labels_are_refused(text):
    assert parse_week(text) is None


def test_quarters_go_by_the_monday():
    assert quarter_of(parse_week("2026-W40")) == "2026-Q3"  # Monday 28 September
    assert quarter_of(parse_week("2026-W41")) == "2026-Q4"


def test_a_release_stored_by_an_earlier_version_still_reads():
    """Before issue 12 a stored cell was [geo, tax, value or null, "shown" or "suppressed"]."""
    old = b'{"area/category": [["a00", "c00", 12, "shown"], ["a01", "c00", null, "suppressed"]]}'
    shown, hidden = decode_part(old, "area", "category")
    assert (shown.value, shown.status, shown.low, shown.high, shown.sd) == (12, "shown", None, None, None)
    assert (hidden.value, hidden.status) == (None, "suppressed")
    assert [c.value for c in decode_part(old, "area", "category", protected=True)] == [12, None]
    assert decode_part(old, "district", "category") == []


@pytest.mark.parametrize("split", [
    '{"area/category": 0.5, "district/category": 0.5}',  # a part missing
    '{"area/category": 0.0, "area/phenomenon": 0.4, "district/category": 0.6, "district/phenomenon": 0,'
    ' "municipality/category": 0, "municipality/phenomenon": 0}',  # the base not measured
    '{"area/category": 0.5, "area/phenomenon": 0.4, "district/category": 0.6, "district/phenomenon": 0,'
    ' "municipality/category": 0, "municipality/phenomenon": 0}',  # more than the whole
    '[0.2, 0.2, 0.6]',
])
def test_a_split_that_cannot_be_refuses_to_start_and_says_why(app_with, monkeypatch, split):
    from service.config import ConfigError

    monkeypatch.setenv("SAFESIGNAL_SIGNALS_EPSILON_SPLIT", split)
    with pytest.raises(ConfigError, match="SAFESIGNAL_SIGNALS_EPSILON_SPLIT"):
        app_with()


def test_a_split_from_the_environment_is_what_releases_spend(app_with, monkeypatch):
    monkeypatch.setenv("SAFESIGNAL_SIGNALS_EPSILON_SPLIT", '{"area/category": 0.5, "area/phenomenon": 0, "district/category": 0.5,'
                       ' "district/phenomenon": 0, "municipality/category": 0, "municipality/phenomenon": 0}')
    rules = app_with().extensions["safesignal"].signals.rules.protection
    assert rules.share(("area", "category")) == rules.share(("district", "category")) == 0.5
    assert rules.scale(("area", "phenomenon")) is None and rules.spent() == pytest.approx(rules.epsilon)


def test_rules_refuse_a_part_too_small_to_measure_and_a_share_that_is_not_a_number():
    full = dict(ProtectionRules().split)
    with pytest.raises(ValueError, match="share of epsilon of at least"):
        ProtectionRules(epsilon=1e-17)  # the noise variance would no longer be a finite float
    with pytest.raises(ValueError, match="share of epsilon of at least"):
        ProtectionRules(split=tuple({**full, "area/phenomenon": 1e-18, "district/category": 0.8 - 1e-18}.items()))
    with pytest.raises(ValueError, match="a number"):
        ProtectionRules(split=tuple({**full, "area/category": True, "district/category": 0.8}.items()))
    assert math.isfinite(ProtectionRules(epsilon=1e-5).variance(("area", "category")))
