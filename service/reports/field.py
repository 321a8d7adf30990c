"""The field channel: field workers' apps sync reports taken offline, each with a position or an area."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.reports.channels import Errors, Principal, ReportChannel, Reporter
from service.reports.schemas import FieldBatchIn, FieldReportIn

if TYPE_CHECKING:
    from service.areas import AreaResolver


def _reporter(principal: Principal) -> Reporter:
    # A field service is one reporter, all its devices together: the contribution cap bounds what
    # the organisation adds to a cell, whatever number of tablets it hands out.
    return Reporter(principal.organisation_id.bytes, principal.organisation_id.bytes, None)


def _locate(report: FieldReportIn, reporter: Reporter, areas: AreaResolver) -> tuple[str | None, Errors]:
    """The area of the report's position (never kept), or the area it names: exactly one of them."""
    if (report.location is None) == (report.area is None):
        return None, {"location": ["Give exactly one of location and area."]}
    if report.location is not None:
        area = areas.resolve(report.location.lat, report.location.lon)
        return area, {} if area is not None else {"location": ["Outside the deployment's territory."]}
    if report.area not in areas:
        return None, {"area": ["Not an area of this deployment (GET /v1/areas)."]}
    return report.area, {}


CHANNEL = ReportChannel(
    name="field",
    data_class="field_reports",
    report=FieldReportIn,
    batch=FieldBatchIn,
    reporter=_reporter,
    locate=_locate,
)
