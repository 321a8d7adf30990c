"""Field-app sync: offline batches, idempotent replays, per-item answers, locations never stored."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from support import bearer
from sqlalchemy import event, func, select

from service.reports.models import Report, Submission

SYNC = "/v1/field/reports/batch"


def _item(app, clock, **fields):  # type: ignore[no-untyped-def]
    area = app.extensions["safesignal"].intake.areas.areas()[0]
    body = {
        "client_id": uuid.uuid4().hex,
        "category": "housing_need",
        "observed_at": (clock.now - dt.timedelta(hours=3)).isoformat(),
        "area": area.code,
    }
    body.update(fields)
    return body


def _count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def device(client, partners) -> str:  # type: ignore[no-untyped-def]
    return partners.device(client)


def test_a_replayed_batch_returns_the_original_results_and_stores_nothing_new(app, client, device, clock):
    items = [_item(app, clock) for _ in range(20)]
    first = client.post(SYNC, json={"reports": items}, headers=bearer(device))
    assert first.status_code == 200 and first.get_json()["accepted"] == 20
    clock.advance(hours=2)  # the app comes back online later and syncs the same queue again
    second = client.post(SYNC, json={"reports": items}, headers=bearer(device))
    assert second.get_json() == first.get_json()
    assert _count(app, Report) == 20 and _count(app, Submission) == 20


def test_a_replay_after_the_intake_window_still_gets_its_original_answer(app, client, device, clock):
    """The app stored a report but never saw the answer; it comes back online weeks later."""
    items = [_item(app, clock, note="mail me at someone@example.be"), _item(app, clock)]
    first = client.post(SYNC, json={"reports": items}, headers=bearer(device)).get_json()
    clock.advance(days=30)
    again = client.post(SYNC, json={"reports": items + [_item(app, clock, observed_at=items[0]["observed_at"])]},
                        headers=bearer(device)).get_json()
    assert again["results"][:2] == first["results"]
    assert again["results"][0]["redactions"] == 1
    assert again["results"][2]["status"] == "rejected"  # a new report that old is refused
    assert _count(app, Report) == 2


def test_the_same_id_with_other_content_is_a_conflict(app, client, device, clock):
    item = _item(app, clock)
    client.post(SYNC, json={"reports": [item]}, headers=bearer(device))
    changed = {**item, "count": 3}
    response = client.post(SYNC, json={"reports": [changed, _item(app, clock)]}, headers=bearer(device))
    body = response.get_json()
    assert (body["accepted"], body["conflicts"]) == (1, 1)
    assert body["results"][0] == {
        "index": 0, "status": "conflict", "client_id": item["client_id"],
        "errors": {"client_id": ["Already used for a different report."]},
    }
    assert _count(app, Report) == 2


def test_a_duplicate_inside_one_batch_is_stored_once(app, client, device, clock):
    item = _item(app, clock)
    response = client.post(SYNC, json={"reports": [item, item, {**item, "count": 2}]}, headers=bearer(device))
    assert [r["status"] for r in response.get_json()["results"]] == ["accepted", "accepted", "conflict"]
    assert _count(app, Report) == 1


def test_one_bad_report_never_blocks_the_rest(app, client, device, clock):
    items = [_item(app, clock), {"client_id": "abc"}, _item(app, clock, count=1.5), "not an object", _item(app, clock)]
    body = client.post(SYNC, json={"reports": items}, headers=bearer(device)).get_json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "rejected", "rejected", "accepted"]
    assert "client_id" in body["results"][1]["errors"]
    assert list(body["results"][2]["errors"]) == ["count"]
    assert body["results"][2]["client_id"] == items[2]["client_id"]  # the app can match the refusal
    assert _count(app, Report) == 2


def test_rejected_reports_can_be_resent_with_the_same_id_once_fixed(app, client, device, clock):
    item = _item(app, clock, category="nonsense")
    assert client.post(SYNC, json={"reports": [item]}, headers=bearer(device)).get_json()["rejected"] == 1
    fixed = {**item, "category": "housing_need"}
    assert client.post(SYNC, json={"reports": [fixed]}, headers=bearer(device)).get_json()["accepted"] == 1


def test_client_ids_are_scoped_to_the_field_service(app, client, partners, clock):
    one = partners.device(client)
    other_org, _ = partners.add("field_service", "Andere dienst")
    other = partners.device(client, other_org)
    item = _item(app, clock)
    for token in (one, other):
        assert client.post(SYNC, json={"reports": [item]}, headers=bearer(token)).get_json()["accepted"] == 1
    assert _count(app, Report) == 2


def test_two_devices_of_one_service_share_the_id_space(app, client, partners, clock):
    organisation_id, _ = partners.add("field_service", "Straathoekwerk")
    first, second = partners.device(client, organisation_id), partners.device(client, organisation_id)
    item = _item(app, clock)
    client.post(SYNC, json={"reports": [item]}, headers=bearer(first))
    # A re-enrolled or second device syncing the same queue must not duplicate.
    assert client.post(SYNC, json={"reports": [item]}, headers=bearer(second)).get_json()["results"][0]["status"] == "accepted"
    assert _count(app, Report) == 1


def test_a_location_is_mapped_to_its_area_and_never_stored(app, client, device, clock, db_engine):
    areas = app.extensions["safesignal"].intake.areas
    lat, lon = 51.0259, 4.4776  # Mechelen, Grote Markt
    expected = areas.resolve(lat, lon)
    assert expected is not None
    item = _item(app, clock, location={"lat": lat, "lon": lon})
    del item["area"]
    body = client.post(SYNC, json={"reports": [item]}, headers=bearer(device)).get_json()
    assert body["accepted"] == 1
    with app.extensions["safesignal"].sessions() as session:
        (report,) = session.scalars(select(Report))
    assert report.area == expected
    with db_engine.connect() as connection:
        dump = repr(connection.exec_driver_sql("SELECT * FROM report").all())
    assert "51.02" not in dump and "4.47" not in dump


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"location": {"lat": 50.8467, "lon": 4.3525}}, "location"),  # Brussels: outside the territory
        ({"location": {"lat": 91.0, "lon": 4.0}}, "location.lat"),
        ({"location": {"lat": 51.02, "lon": 4.47, "alt": 3}}, "location.alt"),
        ({"area": "nowhere"}, "area"),
    ],
)
def test_bad_locations_and_areas_are_refused(app, client, device, clock, fields, field):
    item = _item(app, clock)
    if "location" in fields:
        del item["area"]
    item.update(fields)
    result = client.post(SYNC, json={"reports": [item]}, headers=bearer(device)).get_json()["results"][0]
    assert result["status"] == "rejected" and list(result["errors"]) == [field]
    assert "50.84" not in repr(result["errors"]) and "91" not in repr(result["errors"])


def test_both_location_and_area_is_refused(app, client, device, clock):
    item = _item(app, clock, location={"lat": 51.0259, "lon": 4.4776})
    result = client.post(SYNC, json={"reports": [item]}, headers=bearer(device)).get_json()["results"][0]
    assert result["errors"] == {"location": ["Give exactly one of location and area."]}


def test_a_crash_in_the_middle_of_a_batch_leaves_nothing_half_stored(app, client, device, clock, db_engine):
    """The database fails while the batch is being written: nothing of it is kept, and the retry stores all."""
    items = [_item(app, clock) for _ in range(10)]
    state = {"armed": True}

    def fail_on_submission_insert(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        # Reports are written before idempotency records: failing here is the middle of the batch.
        if state["armed"] and statement.lstrip().upper().startswith("INSERT INTO SUBMISSION"):
            raise ConnectionResetError("database connection lost")

    event.listen(db_engine, "before_cursor_execute", fail_on_submission_insert)
    app.testing = False  # let the app answer 500 as it would in production
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.post(SYNC, json={"reports": items}, headers=bearer(device))
    finally:
        event.remove(db_engine, "before_cursor_execute", fail_on_submission_insert)
    assert response.status_code == 500
    assert response.get_json()["code"] == 500 and "connection" not in response.get_data(as_text=True)
    assert _count(app, Report) == 0 and _count(app, Submission) == 0

    state["armed"] = False
    retry = client.post(SYNC, json={"reports": items}, headers=bearer(device))
    assert retry.get_json()["accepted"] == 10
    assert _count(app, Report) == 10 and _count(app, Submission) == 10


def test_a_revoked_device_is_refused(app, client, partners, clock):
    token = partners.device(client)
    device_id = token[3:35]
    partners.run("devices", "revoke", str(uuid.UUID(device_id)))
    response = client.post(SYNC, json={"reports": [_item(app, clock)]}, headers=bearer(token))
    assert response.status_code == 401


def test_a_field_service_is_one_reporter_whatever_its_devices(app, client, partners, clock):
    """The privacy unit is the organisation: ten tablets of one field service add at most the
    contribution cap to a cell, as one pharmacy does, and a second service counts on its own."""
    from service.signals.models import Tally

    service_id, _ = partners.add("field_service", "Straathoekwerk Noord")
    tablets = [partners.device(client, service_id) for _ in range(10)]
    other = partners.device(client)
    for token in [*tablets, other]:
        response = client.post(SYNC, json={"reports": [_item(app, clock), _item(app, clock)]}, headers=bearer(token))
        assert response.status_code == 200 and response.get_json()["accepted"] == 2, response.get_json()
    with app.extensions["safesignal"].sessions() as session:
        tallies = sorted(n for n, in session.execute(select(Tally.n)))
    assert tallies == [2, 20]  # one reporter per organisation: 10 tablets x 2 reports, and 2
    cap = app.config["SIGNALS_CONTRIBUTION_CAP"]
    assert sum(min(n, cap) for n in tallies) == 2 * cap
