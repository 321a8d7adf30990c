"""Validation cost per report: marshmallow against msgspec, the same strict schema, in one run.

Why service/bodies.py uses msgspec for request bodies. Prints microseconds per report for a batch
of 500 pharmacy reports, each schema strict (unknown fields refused, no type coercion).
Usage: .venv/bin/python bench/validation.py
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import timeit
from pathlib import Path

import marshmallow as ma

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.decoding import decode_raw  # noqa: E402
from service.reports.schemas import PharmacyBatchIn, PharmacyReportIn  # noqa: E402


class MarshmallowReport(ma.Schema):
    """The same fields and rules as PharmacyReportIn, in marshmallow."""

    class Meta:
        unknown = ma.RAISE

    category = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
    observed_at = ma.fields.AwareDateTime(required=True)
    count = ma.fields.Integer(strict=True, validate=ma.validate.Range(1, 1000), load_default=1)
    age_band = ma.fields.String(validate=ma.validate.OneOf(["0-11", "12-17", "18-24", "25-44", "45-64", "65+"]), allow_none=True)
    sex = ma.fields.String(validate=ma.validate.OneOf(["female", "male", "x", "unknown"]), allow_none=True)
    referral = ma.fields.Boolean(truthy={True}, falsy={False}, load_default=False)
    referral_kind = ma.fields.String(validate=ma.validate.Length(1, 64), allow_none=True)
    note = ma.fields.String(validate=ma.validate.Length(max=500), allow_none=True)
    client_id = ma.fields.String(validate=[ma.validate.Length(8, 64), ma.validate.Regexp("^[A-Za-z0-9_-]+$")], allow_none=True)


def main() -> None:
    observed = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    reports = [
        {"category": "dv_mask19", "observed_at": observed, "count": 1 + i % 3, "age_band": "25-44",
         "sex": "female", "referral": True, "referral_kind": "caw", "note": "doorverwezen naar het CAW"}
        for i in range(500)
    ]
    body = json.dumps({"reports": reports}).encode()
    schema = MarshmallowReport()

    def with_marshmallow() -> None:
        for item in json.loads(body)["reports"]:
            schema.load(item)

    def with_msgspec() -> None:
        for raw in decode_raw(body, PharmacyBatchIn).reports:
            decode_raw(raw, PharmacyReportIn)

    for name, run in (("marshmallow (json.loads + Schema.load)", with_marshmallow), ("msgspec (decode + per-item decode)", with_msgspec)):
        best = min(timeit.repeat(run, number=5, repeat=5)) / 5
        print(f"{name:42s} {best / 500 * 1e6:7.2f} us per report")


if __name__ == "__main__":
    main()
