"""The tracing domain: verification codes, key uploads and signed export batches."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Mapping
from typing import Any

from service.domain import Domain, Job
from service.tracing import holdings

log = logging.getLogger("service.scheduler")


def build(config: Mapping[str, Any], state: Any) -> Any:
    """The tracing service's collaborators: token issuer, code and export rules, the export signer."""
    from crypto.exposure_export import SignatureInfo
    from service.keys.material import load_tracing_export_key, load_tracing_token_key
    from service.tracing.chaff import ResponseClock
    from service.tracing.codes import CodeRules
    from service.tracing.exports import ExportRules
    from service.tracing.services import Tracing
    from service.tracing.tokens import TokenIssuer

    return Tracing(
        pseudonyms=state.pseudonyms,
        keyring=state.keyring,
        keystore=state.keystore,
        tokens=TokenIssuer(
            load_tracing_token_key(config, state.instance_path),  # type: ignore[arg-type]
            audience=str(config["TRACING_TOKEN_AUDIENCE"]),
            ttl=dt.timedelta(minutes=config["TRACING_TOKEN_TTL_MINUTES"]),
        ),
        code_rules=CodeRules(
            ttl=dt.timedelta(minutes=config["TRACING_CODE_TTL_MINUTES"]),
            per_day=config["TRACING_CODES_PER_DAY"],
            failures_per_hour=config["TRACING_REDEEM_FAILURES_PER_HOUR"],
        ),
        export_rules=ExportRules(
            period=dt.timedelta(hours=config["TRACING_EXPORT_PERIOD_HOURS"]),
            min_keys=config["TRACING_EXPORT_MIN_KEYS"],
            padding_range=config["TRACING_EXPORT_PADDING_RANGE"],
            max_keys_per_file=config["TRACING_EXPORT_MAX_KEYS_PER_FILE"],
            region=str(config["TRACING_REGION"]),
            info=SignatureInfo(key_id=str(config["TRACING_EXPORT_KEY_ID"]), key_version=str(config["TRACING_EXPORT_KEY_VERSION"])),
        ),
        export_signer=functools.cache(functools.partial(load_tracing_export_key, config, state.instance_path)),
        clock_skew=dt.timedelta(seconds=config["CLOCK_SKEW_SECONDS"]),
        files_kept=dt.timedelta(days=state.policies["export_batches"].period_days),
        exchange_clock=ResponseClock(config["TRACING_RESPONSE_FLOOR_MS"] / 1000),
        upload_clock=ResponseClock(config["TRACING_RESPONSE_FLOOR_MS"] / 1000),
    )


def tracing_job(state: Any) -> None:
    """Build the export batches that are due (service.tracing.jobs). Without its signing key
    (production) it says so at every run and leaves the other jobs alone."""
    from service.config import ConfigError
    from service.tracing.jobs import export_due

    try:
        files = export_due(state, "scheduler")
    except ConfigError as error:
        log.error("tracing exports not built: %s", error)
        return
    if files:
        log.info("tracing exports built: %d files", len(files))


DOMAIN = Domain(
    "tracing",
    build=build,
    blueprint="service.tracing.views:blp",
    schemas="service.tracing.schemas:SCHEMAS",
    jobs=(Job("tracing", "tracing: build the export batches that are due", "TRACING_EXPORT_INTERVAL_MINUTES", tracing_job),),
    holdings=holdings.HOLDINGS,
)
