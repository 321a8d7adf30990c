"""What the tracing domain stores, for retention: exposure keys, export batches, codes and counters."""

from __future__ import annotations

from retention.holdings import Holding
from retention.policy import Expiry
from service.tracing.models import CodeQuota, ExportFile, KeyUpload, RedeemFailures, UsedToken, VerificationCode

HOLDINGS: tuple[Holding, ...] = (
    Holding("exposure_keys", "main", KeyUpload.__table__, KeyUpload.__table__.c.epoch,  # type: ignore[arg-type]
            "the start of the UTC day the keys were uploaded", frozenset({Expiry.SHRED, Expiry.DELETE})),
    Holding("export_batches", "main", ExportFile.__table__, ExportFile.__table__.c.window_end,  # type: ignore[arg-type]
            "the end of the batch's window", frozenset({Expiry.DELETE})),
    Holding("verification_codes", "main", VerificationCode.__table__, VerificationCode.__table__.c.expires_at,  # type: ignore[arg-type]
            "the end of the code's validity", frozenset({Expiry.DELETE})),
    Holding("code_quotas", "main", CodeQuota.__table__, CodeQuota.__table__.c.day,  # type: ignore[arg-type]
            "the start of the UTC day counted", frozenset({Expiry.DELETE})),
    Holding("upload_token_ids", "main", UsedToken.__table__, UsedToken.__table__.c.expires_at,  # type: ignore[arg-type]
            "the token's expiry", frozenset({Expiry.DELETE})),
    Holding("redeem_failure_counts", "main", RedeemFailures.__table__, RedeemFailures.__table__.c.hour,  # type: ignore[arg-type]
            "the start of the hour counted", frozenset({Expiry.DELETE})),
)
