"""Report channels are declared once: intake takes their typed reports, and the taxonomy, the
report data classes and the holdings derive from the registry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.holdings import holdings
from service.reports import services
from service.reports.channels import Reporter, Undecodable
from service.reports.models import Report
from service.reports.registry import CHANNELS
from service.reports.schemas import PharmacyReportIn
from service.taxonomy import CHANNELS as TAXONOMY_CHANNELS


def test_intake_takes_reports_built_without_json(app, partners, clock):
    # What a channel without JSON bodies (an SMS webhook) does: build the report, name the reporter.
    state = app.extensions["safesignal"]
    channel = CHANNELS["pharmacy"]
    reporter = Reporter(scope=b"sms-gateway-scope", ident=b"keyed pseudonym of a sender", area=partners.area())
    report = PharmacyReportIn(category="dv_mask19", observed_at=clock.now - dt.timedelta(minutes=5), client_id="sms-0000001")
    refused = Undecodable({"body": ["No keyword found."]}, "sms-0000002")

    results = services.submit(state.intake, channel, reporter, [report, refused], clock.now)

    assert [(r.index, r.status, r.client_id, r.errors) for r in results] == [
        (0, "accepted", "sms-0000001", None), (1, "rejected", "sms-0000002", {"body": ["No keyword found."]}),
    ]
    with state.sessions() as session:
        (stored,) = session.scalars(select(Report))
        assert (stored.channel, stored.data_class, stored.area) == ("pharmacy", "pharmacy_reports", partners.area())
    # The same client id in the same scope is a replay, answered from the idempotency record.
    (again,) = services.submit(state.intake, channel, reporter, [report], clock.now)
    assert (again.status, again.client_id) == ("accepted", "sms-0000001")
    with state.sessions() as session:
        assert len(list(session.scalars(select(Report)))) == 1


def test_a_channel_declares_its_area_rule_and_its_reporter(app, partners, clock):
    state = app.extensions["safesignal"]
    report = PharmacyReportIn(category="dv_mask19", observed_at=clock.now - dt.timedelta(minutes=5))
    (result,) = services.submit(state.intake, CHANNELS["pharmacy"], Reporter(b"scope", b"one", None), [report], clock.now)
    assert result.errors == {"_schema": ["This pharmacy has no registered area; ask the operator to set it."]}


def test_taxonomy_data_classes_and_holdings_derive_from_the_registered_channels():
    assert set(TAXONOMY_CHANNELS) == set(CHANNELS) == {"pharmacy", "field", "sms"}
    data_classes = [channel.data_class for channel in CHANNELS.values()]
    assert list(Report.__data_class__) == data_classes == ["pharmacy_reports", "field_reports", "sms_reports"]
    held = holdings()
    for name in data_classes:
        assert held[name].where is not None  # only its channel's rows
