"""Every model of the main database, imported in one place so the metadata is complete.

The key vault (service.vault.models) is a separate database with its own metadata.
"""

from __future__ import annotations

from retention.models import Lease
from service.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from database.base import Base
from service.devices.models import EnrollmentCode
from service.partners.models import Credential, Organisation
from service.reports.models import Report, Submission
from service.signals.models import BudgetSpend, Release, Tally, Territory
from service.tracing.models import CodeQuota, ExportFile, KeyUpload, RedeemFailures, UsedToken, VerificationCode

metadata = Base.metadata

__all__ = [
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "Credential",
    "EnrollmentCode",
    "ExportFile",
    "KeyUpload",
    "Lease",
    "Organisation",
    "BudgetSpend",
    "CodeQuota",
    "RedeemFailures",
    "Release",
    "Report",
    "Submission",
    "Tally",
    "Territory",
    "UsedToken",
    "VerificationCode",
    "metadata",
]
