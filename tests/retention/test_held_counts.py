"""The counts per data class and day that the triggers keep (retention.models.held_count) say
exactly what counting the rows says, whatever wrote or removed them, and the DPO's compliance and
inventory built on them answer what they answered when they counted every row.

`recounted_status` and `recounted_inventory` are the views as they were before the counts
(retention.purge at 31f09bf): every figure counted from the rows themselves.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from retention_support import state as app_state, submit
from sqlalchemy import and_, delete, func, insert, select, update

from retention.holdings import Holding, last_expired_epoch
from retention.models import held_count
from retention.policy import Expiry
from retention.purge import ClassStatus, Retention
from service.holdings import holdings as deployment_holdings
from service.reports.models import Report, Submission
from service.signals.models import Tally

DAY = dt.timedelta(days=1)


def recounted_status(retention: Retention) -> list[ClassStatus]:
    """Compliance per data class, every figure counted from the rows."""
    now = retention.clock()
    statuses = []
    for holding in retention.holdings:
        policy = retention.policies[holding.data_class]
        cutoff = now - policy.period
        with retention._read(retention._engine_of(holding)) as connection:
            held = holding.where if holding.anonymised is None else and_(holding.where, ~holding.anonymised)
            records, oldest = connection.execute(
                select(func.count(), func.min(holding.age)).select_from(holding.table).where(held)
            ).one()
            past = connection.execute(select(func.count()).select_from(holding.table).where(holding.expired(cutoff))).scalar_one()
            past += retention._dependents_past(connection, holding, cutoff)
        live_keys = 0
        if policy.on_expiry is Expiry.SHRED:
            live_keys = len(retention.keystore.live_through(holding.data_class, last_expired_epoch(cutoff)))
        age = max(0.0, holding.age_of(oldest, now).total_seconds() / 86400) if oldest is not None else None
        statuses.append(ClassStatus(
            holding.data_class, policy.period_days, policy.on_expiry.value, records,
            round(age, 3) if age is not None else None, past, live_keys, past == 0 and live_keys == 0,
        ))
    return statuses


def recounted_inventory(retention: Retention) -> list[dict[str, object]]:
    """The inventory, counted from the rows."""
    now = retention.clock()
    rows: list[dict[str, object]] = []
    for holding in retention.holdings:
        if not holding.by_epoch:
            continue
        with retention._read(retention._engine_of(holding)) as connection:
            counted = connection.execute(
                select(holding.age, func.count()).select_from(holding.table).where(holding.where)
                .group_by(holding.age).order_by(holding.age)
            ).all()
        keys = {key.epoch for key in retention.keystore.live_through(holding.data_class, dt.date.max)}
        for epoch, count in counted:
            rows.append({
                "data_class": holding.data_class, "epoch": epoch.isoformat(),
                "age_days": (now - dt.datetime.combine(epoch, dt.time(), tzinfo=dt.timezone.utc)).days,
                "records": count,
                "key": "live" if epoch in keys else (
                    "destroyed" if retention.policies[holding.data_class].on_expiry is Expiry.SHRED else "none"),
            })
    return rows


def kept_counts(engine) -> dict[tuple[str, dt.date], int]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return {(c, e): n for c, e, n in connection.execute(select(held_count))}


def rows_counted(engine) -> dict[tuple[str, dt.date], int]:  # type: ignore[no-untyped-def]
    """What the counts should be: every counted holding's rows per age value."""
    expected = {}
    with engine.connect() as connection:
        for holding in deployment_holdings():
            if holding.counted:
                for epoch, count in connection.execute(
                    select(holding.age, func.count()).select_from(holding.table).where(holding.where).group_by(holding.age)
                ):
                    expected[(holding.data_class, epoch)] = count
    return expected


def field_report(epoch: dt.date) -> dict[str, object]:
    hour = dt.datetime.combine(epoch, dt.time(9), tzinfo=dt.timezone.utc)
    return {"id": uuid.uuid4(), "data_class": "field_reports", "channel": "field", "category": "dv_mask19",
            "area": "A1", "observed_hour": hour, "received_hour": hour, "epoch": epoch,
            "reporter": b"r" * 16, "payload": b"not read here"}


def assert_same_answers(retention: Retention) -> None:
    assert retention.status() == recounted_status(retention)
    assert retention.inventory() == recounted_inventory(retention)


def test_the_counted_classes_are_the_big_tables_kept_by_day():
    counted = {holding.data_class for holding in deployment_holdings() if holding.counted}
    assert counted == {"pharmacy_reports", "field_reports", "sms_reports", "idempotency_records", "signal_tallies"}


def test_a_class_whose_figures_do_not_follow_from_day_counts_cannot_be_declared_counted():
    report = Report.__table__
    with pytest.raises(ValueError, match="cannot be counted"):
        Holding("x", "main", report, report.c.received_hour, "receipt", frozenset({Expiry.DELETE}), counted=True)
    with pytest.raises(ValueError, match="cannot be counted"):
        Holding("x", "keys", report, report.c.epoch, "receipt", frozenset({Expiry.DELETE}), counted=True)
    with pytest.raises(ValueError, match="cannot be counted"):
        Holding("x", "main", report, report.c.epoch, "receipt", frozenset({Expiry.DELETE}), counted=True,
                dependents=(Submission.__table__.c.epoch,))


def test_counts_and_views_follow_intake_purges_and_direct_writes(app, client, partners, clock, db_engine):
    retention = app_state(app).retention
    token = partners.pharmacy()
    assert kept_counts(db_engine) == {}
    assert_same_answers(retention)

    # Intake over HTTP on three days: reports, their idempotency records and their tallies.
    first_day = clock.now.date()
    for count in (3, 2, 4):
        submit(client, token, clock, count=count)
        clock.now += DAY
    assert kept_counts(db_engine) == rows_counted(db_engine)
    assert {key[0] for key in kept_counts(db_engine)} == {"pharmacy_reports", "idempotency_records", "signal_tallies"}
    assert kept_counts(db_engine)[("pharmacy_reports", first_day)] == 3
    assert_same_answers(retention)

    # Rows written and removed around the service: a batch insert, an update of the counted
    # columns (nothing in the service does it; the count moves with the row), deletes.
    with db_engine.begin() as connection:
        connection.execute(insert(Report), [field_report(first_day - 40 * DAY) for _ in range(5)]
                           + [field_report(first_day) for _ in range(2)])
        moved = connection.execute(select(Report.id).where(Report.data_class == "field_reports",
                                                           Report.epoch == first_day).limit(1)).scalar_one()
        connection.execute(update(Report).where(Report.id == moved).values(epoch=first_day - DAY))
        connection.execute(update(Report).where(Report.data_class == "pharmacy_reports", Report.epoch == first_day)
                           .values(data_class="field_reports"))
    counts = kept_counts(db_engine)
    assert counts == rows_counted(db_engine)
    assert (counts[("field_reports", first_day - 40 * DAY)], counts[("field_reports", first_day - DAY)],
            counts[("field_reports", first_day)]) == (5, 1, 4)
    assert ("pharmacy_reports", first_day) not in counts  # its last record went: its count too
    assert_same_answers(retention)  # field reports 40 days old: past their period, overdue
    assert not {s.data_class: s for s in retention.status()}["field_reports"].compliant

    with db_engine.begin() as connection:
        connection.execute(delete(Report).where(Report.data_class == "field_reports", Report.epoch == first_day))
    assert kept_counts(db_engine) == rows_counted(db_engine)
    assert_same_answers(retention)

    # A retention run deletes what is past its period; later, everything is.
    retention.run()
    assert kept_counts(db_engine) == rows_counted(db_engine)
    assert ("field_reports", first_day - 40 * DAY) not in kept_counts(db_engine)
    assert_same_answers(retention)
    clock.now += 20 * DAY  # idempotency records (14 days) past, reports (35 days) not yet
    assert_same_answers(retention)
    retention.run()
    assert_same_answers(retention)
    clock.now += 30 * DAY
    assert_same_answers(retention)
    retention.run()
    assert kept_counts(db_engine) == rows_counted(db_engine) == {}
    assert_same_answers(retention)


def test_tallies_count_cells_not_reports(app, client, partners, clock, db_engine):
    """Intake adds to an existing cell (an upsert): the row count of the tallies stays."""
    retention = app_state(app).retention
    token = partners.pharmacy()
    submit(client, token, clock, count=2)
    with db_engine.connect() as connection:
        cells = connection.execute(select(func.count()).select_from(Tally)).scalar_one()
    submit(client, token, clock, count=2)
    (week,) = {epoch for (data_class, epoch) in kept_counts(db_engine) if data_class == "signal_tallies"}
    assert kept_counts(db_engine)[("signal_tallies", week)] == cells
    assert kept_counts(db_engine) == rows_counted(db_engine)
    assert_same_answers(retention)


def test_the_views_read_the_counts_not_the_rows(app, client, partners, clock, db_engine):
    """A count the rows do not back shows: status and inventory read the counts, they count no rows."""
    token = partners.pharmacy()
    submit(client, token, clock, count=3)
    epoch = clock.now.date()
    with db_engine.begin() as connection:
        connection.execute(update(held_count).where(held_count.c.data_class == "pharmacy_reports")
                           .values(records=held_count.c.records + 1000))
    retention = app_state(app).retention
    (row,) = [r for r in retention.inventory() if r["data_class"] == "pharmacy_reports"]
    assert (row["epoch"], row["records"]) == (epoch.isoformat(), 1003)
    assert {s.data_class: s.records for s in retention.status()}["pharmacy_reports"] == 1003
