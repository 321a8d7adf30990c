"""Helpers the retention tests share: reports submitted over HTTP, the app's state, one class's outcome."""

from __future__ import annotations

import datetime as dt

from support import bearer


def submit(client, token, clock, count: int = 3, note: str = "vroeg naar CAW") -> None:  # type: ignore[no-untyped-def]
    reports = [
        {"category": "dv_mask19", "observed_at": (clock.now - dt.timedelta(minutes=30)).isoformat(), "note": note,
         "client_id": f"c-{int(clock.now.timestamp())}-{i}"}
        for i in range(count)
    ]
    response = client.post("/v1/pharmacy/reports/batch", json={"reports": reports}, headers=bearer(token))
    assert response.status_code == 200 and response.get_json()["accepted"] == count, response.get_json()


def state(app):  # type: ignore[no-untyped-def]
    return app.extensions["safesignal"]


def outcome(run, data_class: str):  # type: ignore[no-untyped-def]
    (result,) = [r for r in run.classes if r.data_class == data_class]
    return result
