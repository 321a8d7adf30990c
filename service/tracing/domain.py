"""The tracing domain: verification codes, key uploads and signed export batches."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Mapping
from typing import Any

from service.config import ConfigError, require_integers
from service.domain import Domain, Job
from service.tracing import holdings

DEFAULTS: dict[str, Any] = {
    # (Its two keys are secrets: service.config.)
    # Verification codes: minutes valid, codes per pharmacy and UTC day, and failed
    # redemptions per hour (all callers together) before every redemption waits for the next hour.
    "TRACING_CODE_TTL_MINUTES": 60,
    "TRACING_CODES_PER_DAY": 100,
    "TRACING_REDEEM_FAILURES_PER_HOUR": 100,
    # Code exchanges and uploads, real and fake, success or error, are answered after a random
    # time between this many milliseconds and twice as many.
    "TRACING_RESPONSE_FLOOR_MS": 100,
    # Upload tokens: minutes valid, and the audience they are bound to.
    "TRACING_TOKEN_TTL_MINUTES": 15,
    "TRACING_TOKEN_AUDIENCE": "safesignal-tracing-upload",
    # Export batches: window length, padding (a batch under MIN_KEYS is padded to MIN_KEYS plus a
    # random number below PADDING_RANGE), keys per file, how often the scheduler builds them, and
    # what the files say: region, signing key id (Belgium's MCC) and version.
    "TRACING_EXPORT_PERIOD_HOURS": 4,
    "TRACING_EXPORT_MIN_KEYS": 1000,
    "TRACING_EXPORT_PADDING_RANGE": 100,
    "TRACING_EXPORT_MAX_KEYS_PER_FILE": 100000,
    "TRACING_EXPORT_INTERVAL_MINUTES": 15,
    "TRACING_REGION": "BE",
    "TRACING_EXPORT_KEY_ID": "206",
    "TRACING_EXPORT_KEY_VERSION": "v1",
}


def check(config: Mapping[str, Any]) -> None:
    """Refuse tracing settings that cannot run."""
    require_integers(config, ("TRACING_RESPONSE_FLOOR_MS",), least=0)
    if isinstance(config["TRACING_EXPORT_PERIOD_HOURS"], int) and 24 % max(1, config["TRACING_EXPORT_PERIOD_HOURS"]):
        raise ConfigError("SAFESIGNAL_TRACING_EXPORT_PERIOD_HOURS must divide 24 (1, 2, 3, 4, 6, 8, 12 or 24)")
    for key, most in (("TRACING_CODE_TTL_MINUTES", 24 * 60), ("TRACING_TOKEN_TTL_MINUTES", 24 * 60),
                      ("TRACING_RESPONSE_FLOOR_MS", 10_000), ("TRACING_EXPORT_MIN_KEYS", 1_000_000),
                      ("TRACING_EXPORT_PADDING_RANGE", 1_000_000)):
        if isinstance(config[key], int) and config[key] > most:
            raise ConfigError(f"SAFESIGNAL_{key} must be at most {most}")
    # Files are numbered in a SMALLINT: at 100 keys a file, 3 million keys in one window still fit.
    if isinstance(config["TRACING_EXPORT_MAX_KEYS_PER_FILE"], int) and config["TRACING_EXPORT_MAX_KEYS_PER_FILE"] < 100:
        raise ConfigError("SAFESIGNAL_TRACING_EXPORT_MAX_KEYS_PER_FILE must be at least 100")
    for key in ("TRACING_REGION", "TRACING_EXPORT_KEY_ID", "TRACING_EXPORT_KEY_VERSION", "TRACING_TOKEN_AUDIENCE"):
        # SAFESIGNAL_TRACING_EXPORT_KEY_ID=206 arrives as the number 206 (values are parsed as JSON).
        value = config[key]
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not 0 < len(str(value)) <= 64:
            raise ConfigError(f"SAFESIGNAL_{key} must be text of 1 to 64 characters")
    require_integers(config, ("TRACING_CODE_TTL_MINUTES", "TRACING_CODES_PER_DAY", "TRACING_REDEEM_FAILURES_PER_HOUR",
                              "TRACING_TOKEN_TTL_MINUTES", "TRACING_EXPORT_PERIOD_HOURS", "TRACING_EXPORT_MIN_KEYS",
                              "TRACING_EXPORT_PADDING_RANGE", "TRACING_EXPORT_MAX_KEYS_PER_FILE",
                              "TRACING_EXPORT_INTERVAL_MINUTES"), least=1)

log = logging.getLogger("service.scheduler")


def build(config: Mapping[str, Any], state: Any) -> Any:
    """The tracing service's collaborators: token issuer, code and export rules, the export signer."""
    from crypto.exposure_export import SignatureInfo
    from service.secrets import load_tracing_export_key, load_tracing_token_key
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
    models="service.tracing.models",
    defaults=DEFAULTS,
    check=check,
    build=build,
    blueprint="service.tracing.views:blp",
    schemas="service.tracing.schemas:SCHEMAS",
    commands=("service.tracing.commands:tracing_group",),
    jobs=(Job("tracing", "tracing: build the export batches that are due", "TRACING_EXPORT_INTERVAL_MINUTES", tracing_job),),
    holdings=holdings.HOLDINGS,
)
