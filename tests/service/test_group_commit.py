"""The group commit: many requests' writes in one transaction, each request all or nothing."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest
from support import bearer
from sqlalchemy import Column, Integer, MetaData, String, Table, event, exc, func, select

from database.group_commit import GroupCommit
from service.reports.models import Report, Submission


@pytest.fixture
def table(db_engine):  # type: ignore[no-untyped-def]
    metadata = MetaData()
    scratch = Table("group_commit_probe", metadata, Column("id", Integer, primary_key=True), Column("who", String(20)))
    metadata.create_all(db_engine)
    yield scratch
    metadata.drop_all(db_engine)


def _rows(db_engine, table):  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        return sorted(connection.execute(select(table.c.id, table.c.who)).all())


def _concurrently(*calls):  # type: ignore[no-untyped-def]
    """Run the calls in threads released together; return each one's exception or None."""
    start = threading.Barrier(len(calls))
    outcomes: list[BaseException | None] = [None] * len(calls)

    def run(index, call):  # type: ignore[no-untyped-def]
        start.wait()
        try:
            call()
        except BaseException as error:  # noqa: BLE001
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _behind_a_held_leader(db_engine, group, leader_writes, calls):  # type: ignore[no-untyped-def]
    """Start a leader whose transaction is held at its first probe insert, queue `calls` behind
    it (so they go in one group), release it; return each call's exception or None."""
    release = threading.Event()

    def hold_first_insert(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "group_commit_probe" in statement and not release.is_set():
            release.wait(30)

    event.listen(db_engine, "before_cursor_execute", hold_first_insert)
    try:
        leader = threading.Thread(target=group.write, args=(leader_writes,))
        leader.start()
        while not group._leading:  # the leader is inside its transaction, held at its insert
            time.sleep(0.001)
        outcomes: list = []
        followers = threading.Thread(target=lambda: outcomes.extend(_concurrently(*calls)))
        followers.start()
        while len(group._pending) < len(calls):  # all of them wait for the next group
            time.sleep(0.001)
        release.set()
        leader.join(30)
        followers.join(30)
    finally:
        event.remove(db_engine, "before_cursor_execute", hold_first_insert)
    return outcomes


def test_concurrent_writers_all_land_once(db_engine, table):
    group = GroupCommit(db_engine)
    calls = [lambda i=i: group.write([(table, [{"id": 10 * i + k, "who": f"writer {i}"} for k in range(10)])]) for i in range(8)]
    assert _concurrently(*calls) == [None] * 8
    assert len(_rows(db_engine, table)) == 80


def test_a_failing_entry_fails_alone(db_engine, table):
    """Seven writers queue behind a commit in progress and go in one group; one of them breaks a
    unique key: the group is retried entry by entry and only that one fails."""
    group = GroupCommit(db_engine)
    group.write([(table, [{"id": 1, "who": "first"}])])
    calls = [lambda i=i: group.write([(table, [{"id": 100 + i, "who": f"ok {i}"}, {"id": 200 + i, "who": f"ok {i}"}])]) for i in range(6)]
    calls.append(lambda: group.write([(table, [{"id": 300, "who": "bad"}, {"id": 1, "who": "duplicate"}])]))
    outcomes = _behind_a_held_leader(db_engine, group, [(table, [{"id": 2, "who": "leader"}])], calls)
    assert outcomes[:6] == [None] * 6
    assert isinstance(outcomes[6], exc.IntegrityError)
    rows = _rows(db_engine, table)
    assert len(rows) == 2 + 12
    assert (300, "bad") not in rows  # the failing entry left nothing behind, not even its good row


def test_parallel_syncs_of_one_queue_store_each_report_once(app, client, partners, clock):
    """Two devices of one service sync the same offline queue at the same moment."""
    organisation_id, _ = partners.add("field_service", "Straathoekwerk")
    tokens = [partners.device(client, organisation_id) for _ in range(4)]
    area = app.extensions["safesignal"].intake.areas.areas()[0].code
    observed = (clock.now - dt.timedelta(hours=1)).isoformat()
    queue = [{"client_id": uuid.uuid4().hex, "category": "housing_need", "observed_at": observed, "area": area}
             for _ in range(50)]
    answers = []

    def sync(token):  # type: ignore[no-untyped-def]
        response = app.test_client().post("/v1/field/reports/batch", json={"reports": queue}, headers=bearer(token))
        answers.append(response.get_json())

    assert _concurrently(*[lambda t=t: sync(t) for t in tokens]) == [None] * 4
    assert [answer["accepted"] for answer in answers] == [50] * 4
    with app.extensions["safesignal"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 50
        assert session.scalar(select(func.count()).select_from(Submission)) == 50


def test_racing_reuse_of_one_id_stores_one_report_and_reports_the_conflict(app, client, partners, clock):
    organisation_id, _ = partners.add("field_service", "Straathoekwerk")
    tokens = [partners.device(client, organisation_id) for _ in range(2)]
    area = app.extensions["safesignal"].intake.areas.areas()[0].code
    observed = (clock.now - dt.timedelta(hours=1)).isoformat()
    contested = uuid.uuid4().hex
    answers = {}

    def sync(index, token):  # type: ignore[no-untyped-def]
        reports = [{"client_id": contested, "category": "housing_need", "observed_at": observed, "area": area, "count": index + 1}]
        reports += [{"client_id": uuid.uuid4().hex, "category": "loneliness", "observed_at": observed, "area": area} for _ in range(5)]
        answers[index] = app.test_client().post("/v1/field/reports/batch", json={"reports": reports}, headers=bearer(token)).get_json()

    assert _concurrently(*[lambda i=i, t=t: sync(i, t) for i, t in enumerate(tokens)]) == [None, None]
    statuses = sorted(answers[i]["results"][0]["status"] for i in (0, 1))
    assert statuses == ["accepted", "conflict"]
    assert answers[0]["accepted"] + answers[1]["accepted"] == 11
    with app.extensions["safesignal"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 11


def test_rows_read_back_the_same_as_through_sqlalchemy(db_engine):
    """The group commit converts values itself; what it stores must equal SQLAlchemy's own insert."""
    import os

    from service.reports.services import new_report_id

    hour = dt.datetime(2026, 11, 29, 10, tzinfo=dt.timezone.utc)
    rows = [
        {"id": new_report_id(hour), "data_class": "pharmacy_reports", "channel": "pharmacy", "category": f"c{i % 2}",
         "area": "a", "observed_hour": hour - dt.timedelta(hours=i % 3), "received_hour": hour, "epoch": hour.date(),
         "reporter": os.urandom(16), "payload": os.urandom(60)}
        for i in range(6)
    ]
    GroupCommit(db_engine).write([(Report.__table__, rows[:3])])
    with db_engine.begin() as connection:
        connection.execute(Report.__table__.insert(), rows[3:])
    with db_engine.connect() as connection:
        stored = {row.id: row._asdict() for row in connection.execute(select(Report.__table__))}
    assert [stored[row["id"]] for row in rows] == rows


def test_a_single_row_commits_alone_and_durably(db_engine, table):
    """One row into one table (autocommit on PostgreSQL) is as visible as any other commit."""
    GroupCommit(db_engine).write([(table, [{"id": 7, "who": "alone"}])])
    assert _rows(db_engine, table) == [(7, "alone")]


def test_a_lost_idempotency_race_is_told_from_other_constraint_errors(db_engine):
    """Intake retries only when the idempotency key collides; the check reads each engine's error."""
    import os

    from service.reports.services import is_submission_race, new_report_id

    hour = dt.datetime(2026, 11, 29, 10, tzinfo=dt.timezone.utc)
    submission = {"key_hash": os.urandom(32), "content_digest": os.urandom(32), "redactions": 0,
                  "received_hour": hour, "epoch": hour.date()}
    report = {"id": new_report_id(hour), "data_class": "pharmacy_reports", "channel": "pharmacy", "category": "c",
              "area": "a", "observed_hour": hour, "received_hour": hour, "epoch": hour.date(),
              "reporter": os.urandom(16), "payload": os.urandom(60)}
    group = GroupCommit(db_engine)
    group.write([(Report.__table__, [report]), (Submission.__table__, [submission])])
    with pytest.raises(exc.IntegrityError) as race:
        group.write([(Submission.__table__, [submission])])
    with pytest.raises(exc.IntegrityError) as other:
        group.write([(Report.__table__, [report])])
    assert is_submission_race(race.value)
    assert not is_submission_race(other.value)


def test_accumulated_counts_add_up_across_a_group_and_survive_a_failing_entry(db_engine, table):
    """Tallies are upserts that add: entries of one group hitting the same key add up, and when
    the group is retried entry by entry (one entry breaks a unique key) nothing is counted twice
    and the failing entry's tallies go with it."""
    from service.signals.models import Tally

    week, reporter = dt.date(2026, 11, 23), bytes(16)

    def tally(n: int, area: str = "a1") -> dict:  # type: ignore[type-arg]
        return {"week": week, "area": area, "category": "c", "reporter": reporter, "n": n}

    group = GroupCommit(db_engine)
    group.write([(table, [{"id": 1, "who": "first"}]), (Tally.__table__, [tally(2)])])
    calls = [lambda i=i: group.write([(table, [{"id": 100 + i, "who": "ok"}]), (Tally.__table__, [tally(10), tally(1, "a2")])])
             for i in range(5)]
    calls.append(lambda: group.write([(table, [{"id": 1, "who": "duplicate"}]), (Tally.__table__, [tally(1000)])]))
    outcomes = _behind_a_held_leader(db_engine, group, [(table, [{"id": 2, "who": "leader"}]), (Tally.__table__, [tally(1)])], calls)
    assert outcomes[:5] == [None] * 5 and isinstance(outcomes[5], exc.IntegrityError)
    with db_engine.connect() as connection:
        counts = dict(connection.execute(select(Tally.area, Tally.n)).all())
    assert counts == {"a1": 2 + 1 + 5 * 10, "a2": 5}
