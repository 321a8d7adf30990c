"""Consistent estimates from the six noisy parts of a release: weighted least squares along both
hierarchies, its exact variances, and integer rounding that keeps every total the sum of its parts.

Each part of a release (a geographic level x a taxonomy level) is measured once, with its own
noise. Every published cell is a sum of base cells (area x category), so the six noisy parts are
six noisy views of one unknown table X (areas x categories). The weighted least-squares estimate

    X^ = argmin  sum over parts  |A_part X - y_part|^2 / variance_part

is the best linear unbiased estimate of X from all six views (Hay, Rastogi, Miklau, Suciu,
"Boosting the accuracy of differentially private histograms through consistency", VLDB 2010, did
this along one tree; here it is the product of two trees). Every published value is then a sum of
X^'s cells, so a district is exactly the sum of its areas, and each level gains the accuracy of the
others. It reads the noisy values only: post-processing, which costs no privacy.

Solving it. The normal matrix N = sum over parts of w_part (M_geo (x) M_tax), where M_level is the
Gram matrix of a level's indicator vectors (area: I; district: S S^T for S the area-to-district
indicator; municipality: 1 1^T; category: I; phenomenon: R R^T). With U = S diag(1/sqrt(n)) (an
orthonormal basis of the vectors constant on each district) and Pc = I - U U^T, every geographic M
is a scalar on Pc's space plus a D x D matrix on U's; likewise for the taxonomy with V and Qc. So
N splits into four orthogonal blocks, each small (the largest is (districts x phenomena) squared):

    N^-1 = (Pc (x) Qc) / w_ac + Pc (x) V K2^-1 V^T + U K3^-1 U^T (x) Qc + (U (x) V) K4^-1 (U (x) V)^T

which gives X^ and the exact variance of every published estimate without ever forming a matrix
the size of the grid (a city of 200 areas and 25 categories: milliseconds). tests/service/signals/
test_estimation.py checks both against a dense least-squares solve.

Rounding. Published values are integers and must still add up. X^ is real, so it is rounded
top-down: each municipality x phenomenon to the nearest integer, then shared out among its
categories, then each category among the districts, then each district among its areas, each share
as close to its own estimate as the total allows (largest remainder). All published values are sums
of the rounded base cells, so every total adds up exactly, and a category value stays within 1 of
its consistent estimate at every geographic level.

The rounding keeps the estimate's sign: a cell with nothing reported gets noise of either sign, and
forcing it to 0 or above would have to take the excess from its siblings to keep the total right,
which pulls every real count beside empty cells down (20 reports beside empty cells came out near
9 on average). Negative values can only be those of cells far below k, which are never shown
(service.signals.protection); alerts read them as they are, unbiased.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

GEO_LEVELS = ("area", "district", "municipality")
TAX_LEVELS = ("category", "phenomenon")
PARTS = tuple((g, t) for g in GEO_LEVELS for t in TAX_LEVELS)
Part = tuple[str, str]


@dataclass(frozen=True)
class Hierarchy:
    """The shape of one municipality's grid: areas in districts, categories in phenomena."""

    areas: tuple[str, ...]
    districts: tuple[str, ...]
    area_district: np.ndarray  # index into districts, per area
    categories: tuple[str, ...]
    phenomena: tuple[str, ...]
    category_phenomenon: np.ndarray  # index into phenomena, per category

    @classmethod
    def of(cls, districts: Mapping[str, str], phenomena: Mapping[str, str]) -> Hierarchy:
        """From area -> district and category -> phenomenon (nodes in sorted order, as Grid.keys)."""
        areas, district_codes = sorted(districts), sorted(set(districts.values()))
        categories, phenomenon_codes = sorted(phenomena), sorted(set(phenomena.values()))
        d_index = {d: i for i, d in enumerate(district_codes)}
        p_index = {p: i for i, p in enumerate(phenomenon_codes)}
        return cls(
            tuple(areas), tuple(district_codes), np.array([d_index[districts[a]] for a in areas], dtype=np.intp),
            tuple(categories), tuple(phenomenon_codes), np.array([p_index[phenomena[c]] for c in categories], dtype=np.intp),
        )

    def nodes(self, level: str) -> int:
        """How many cells a level has along its own dimension."""
        return {"area": len(self.areas), "district": len(self.districts), "municipality": 1,
                "category": len(self.categories), "phenomenon": len(self.phenomena)}[level]

    def geo_sum(self, level: str, x: np.ndarray) -> np.ndarray:
        """Rows of x (one per area) summed to the geographic level."""
        if level == "area":
            return x
        if level == "district":
            out = np.zeros((len(self.districts), x.shape[1]))
            np.add.at(out, self.area_district, x)
            return out
        return x.sum(axis=0, keepdims=True)

    def tax_sum(self, level: str, x: np.ndarray) -> np.ndarray:
        """Columns of x (one per category) summed to the taxonomy level."""
        if level == "category":
            return x
        out = np.zeros((x.shape[0], len(self.phenomena)))
        np.add.at(out.T, self.category_phenomenon, x.T)
        return out

    def totals(self, x: np.ndarray) -> dict[Part, np.ndarray]:
        """Every part of a base table (areas x categories), as sums of its cells."""
        return {(g, t): self.tax_sum(t, self.geo_sum(g, x)) for g, t in PARTS}

    def _expand_geo(self, level: str, y: np.ndarray) -> np.ndarray:
        """The transpose of geo_sum: each area gets its node's row."""
        if level == "area":
            return y
        if level == "district":
            return y[self.area_district]
        return np.repeat(y, len(self.areas), axis=0)

    def _expand_tax(self, level: str, y: np.ndarray) -> np.ndarray:
        return y if level == "category" else y[:, self.category_phenomenon]


class Estimator:
    """Weighted least squares over one hierarchy for fixed noise variances per part."""

    def __init__(self, hierarchy: Hierarchy, variances: Mapping[Part, float]):
        """`variances`: the noise variance of each part; infinite for a part that is not measured
        (it is then only a sum of the others). Area x category must be measured."""
        if not 0 < variances["area", "category"] < float("inf"):
            raise ValueError("area x category must be measured: every other part is a sum of it")
        h = self.h = hierarchy
        self.w = {part: 1.0 / variances[part] for part in PARTS}
        n = np.bincount(h.area_district, minlength=len(h.districts)).astype(float)
        m = np.bincount(h.category_phenomenon, minlength=len(h.phenomena)).astype(float)
        self.U = np.zeros((len(h.areas), len(h.districts)))
        self.U[np.arange(len(h.areas)), h.area_district] = 1 / np.sqrt(n[h.area_district])
        self.V = np.zeros((len(h.categories), len(h.phenomena)))
        self.V[np.arange(len(h.categories)), h.category_phenomenon] = 1 / np.sqrt(m[h.category_phenomenon])
        w = self.w
        root_n = np.sqrt(n)
        # The geographic levels' Gram matrices on U's space, and the taxonomy's on V's.
        geo = {"area": np.eye(len(n)), "district": np.diag(n), "municipality": np.outer(root_n, root_n)}
        tax = {"category": np.eye(len(m)), "phenomenon": np.diag(m)}
        self.k2 = w["area", "category"] + w["area", "phenomenon"] * m  # diagonal
        self.k3_inv = np.linalg.inv(sum(w[g, "category"] * geo[g] for g in GEO_LEVELS))
        self.k4_inv = np.linalg.inv(sum(w[g, t] * np.kron(geo[g], tax[t]) for g, t in PARTS))
        # Each node's coordinates: its projection on Pc (a scalar, g^T Pc g) and on U (a vector).
        self._geo_coords = {
            "area": (1 - 1 / n[h.area_district], self.U.copy()),
            "district": (np.zeros(len(n)), np.diag(root_n)),
            "municipality": (np.zeros(1), root_n[None, :]),
        }
        self._tax_coords = {
            "category": (1 - 1 / m[h.category_phenomenon], self.V.copy()),
            "phenomenon": (np.zeros(len(m)), np.diag(np.sqrt(m))),
        }

    def solve(self, b: np.ndarray) -> np.ndarray:
        """N^-1 applied to an areas x categories matrix."""
        U, V = self.U, self.V
        bu = U.T @ b
        pc_b = b - U @ bu  # Pc b
        pc_b_qc = pc_b - (pc_b @ V) @ V.T
        out = pc_b_qc / self.w["area", "category"]
        out += ((pc_b @ V) / self.k2) @ V.T
        b_qc = bu - (bu @ V) @ V.T  # U^T b Qc
        out += U @ (self.k3_inv @ b_qc)
        z = (bu @ V).reshape(-1)  # U^T b V, row-major: districts outer, phenomena inner
        out += U @ (self.k4_inv @ z).reshape(len(self.h.districts), len(self.h.phenomena)) @ V.T
        return out

    def estimate(self, noisy: Mapping[Part, np.ndarray]) -> np.ndarray:
        """The weighted least-squares base table (areas x categories, real) from the noisy parts."""
        h = self.h
        b = np.zeros((len(h.areas), len(h.categories)))
        for g, t in PARTS:
            if self.w[g, t] > 0:  # a part not measured (weight 0) has no noisy values
                b += self.w[g, t] * h._expand_tax(t, h._expand_geo(g, np.asarray(noisy[g, t], dtype=float)))
        return self.solve(b)

    def variances(self) -> dict[Part, np.ndarray]:
        """The variance of the estimate of every published cell, per part (geo nodes x tax nodes)."""
        k2_inv = 1 / self.k2
        D, P = len(self.h.districts), len(self.h.phenomena)
        k4 = self.k4_inv.reshape(D, P, D, P)
        out = {}
        for g, t in PARTS:
            pc, gu = self._geo_coords[g]
            qc, tv = self._tax_coords[t]
            var = np.outer(pc, qc) / self.w["area", "category"]
            var += np.outer(pc, (tv**2) @ k2_inv)
            var += np.outer(np.einsum("id,de,ie->i", gu, self.k3_inv, gu), qc)
            inner = np.einsum("id,dpeq,ie->ipq", gu, k4, gu)
            var += np.einsum("jp,ipq,jq->ij", tv, inner, tv)
            out[g, t] = var
        return out


def apportion(total: int, values: np.ndarray) -> np.ndarray:
    """Integers adding up to `total`, each as close to its (real, possibly negative) value as that
    allows: every value rounded down, then the units left over go to the largest fractional parts
    (Hamilton's method; ties to the earlier index, so the same input gives the same result). When
    `total` is the rounded sum of the values, each integer is within 1 of its value."""
    shares = np.floor(values).astype(np.int64)
    if len(values) == 0:
        return shares
    left = total - int(shares.sum())
    shares += left // len(values)  # only when total is far from the values' sum
    left %= len(values)
    if left:
        order = np.lexsort((np.arange(len(values)), -(values - np.floor(values))))
        shares[order[:left]] += 1
    return shares


def rounded(h: Hierarchy, x: np.ndarray) -> np.ndarray:
    """An integer base table whose totals follow x's, top-down (module docstring)."""
    by_district = h.geo_sum("district", x)  # districts x categories
    municipality = x.sum(axis=0)  # per category
    out = np.zeros(x.shape, dtype=np.int64)
    areas_of = [np.flatnonzero(h.area_district == d) for d in range(len(h.districts))]
    top = h.tax_sum("phenomenon", municipality[None, :])[0]  # municipality x phenomenon
    for p in range(len(h.phenomena)):
        categories = np.flatnonzero(h.category_phenomenon == p)
        per_category = apportion(int(np.floor(top[p] + 0.5)), municipality[categories])
        for c, total in zip(categories, per_category):
            per_district = apportion(int(total), by_district[:, c])
            for d, share in enumerate(per_district):
                out[areas_of[d], c] = apportion(int(share), x[areas_of[d], c])
    return out
