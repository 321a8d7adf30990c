"""Every model of the service, imported in one place so the metadata is complete."""

from __future__ import annotations

from service.db import Base
from service.devices.models import EnrollmentCode
from service.keys.models import DataKeyRecord
from service.partners.models import Credential, Organisation
from service.reports.models import Report, Submission

metadata = Base.metadata

__all__ = ["Credential", "DataKeyRecord", "EnrollmentCode", "Organisation", "Report", "Submission", "metadata"]
