"""The pharmacy channel: partner pharmacies report at the counter, one by one or in batches."""

from __future__ import annotations

from service.reports.channels import Principal, ReportChannel, Reporter, registered_area
from service.reports.schemas import PharmacyBatchIn, PharmacyReportIn


def _reporter(principal: Principal) -> Reporter:
    # A pharmacy is one reporter whatever terminal it uses.
    return Reporter(principal.organisation_id.bytes, principal.organisation_id.bytes, principal.area)


CHANNEL = ReportChannel(
    name="pharmacy",
    data_class="pharmacy_reports",
    report=PharmacyReportIn,
    batch=PharmacyBatchIn,
    reporter=_reporter,
    locate=registered_area,
)
