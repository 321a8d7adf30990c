"""Configuration: defaults, then SAFESIGNAL_* environment variables.

Every setting is read from an environment variable of the same name with the SAFESIGNAL_ prefix
(`SAFESIGNAL_DATABASE_URL`, ...). Values are parsed as JSON where they can be (Flask's
`from_prefixed_env`), so `SAFESIGNAL_BATCH_MAX=200` is an integer. The README lists them all.

Secrets have no defaults. In development mode (the default) missing keys are created in the instance
folder and logged as development-only; in production mode the service refuses to start and names
what is missing in one line.
"""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    # "development" creates missing keys locally; "production" refuses to start without them.
    "ENV": "development",
    # SQLAlchemy URL; empty means the embedded SQLite database in the instance folder.
    "DATABASE_URL": "",
    # The key vault: a database of its own for the epoch data keys (empty: instance/keys.db).
    # Never the main database: a copy of that must not be able to decrypt what was shredded.
    "KEYS_DATABASE_URL": "",
    # Key-encryption key: base64url of 32 bytes, or a file holding it. Previous KEK files
    # (comma-separated) stay readable while `safesignal keys rotate-kek` moves data keys over.
    "KEK": None,
    "KEK_FILE": None,
    "KEK_PREVIOUS_FILES": "",
    # Key for keyed pseudonyms (HMAC-SHA256): base64url of 32 bytes, or a file holding it.
    "PSEUDONYM_KEY": None,
    "PSEUDONYM_KEY_FILE": None,
    # Ed25519 key (base64url of a 32-byte seed, or a file) that signs audit-log checkpoints.
    "AUDIT_SIGNING_KEY": None,
    "AUDIT_SIGNING_KEY_FILE": None,
    # Key (base64url of 32 bytes, or a file) of the MAC on every audit entry and on the chain's
    # head. Every process that writes the log (API, scheduler, CLI) needs it; the database must
    # never hold it, or whoever can write the database could add history.
    "AUDIT_MAC_KEY": None,
    "AUDIT_MAC_KEY_FILE": None,
    # Its public key (64 hex digits). Set it for the API processes and leave the signing key to
    # the processes that sign (the scheduler, the CLI): the API then never reads the private key.
    "AUDIT_PUBLIC_KEY": None,
    # Intake limits.
    "MAX_BODY_BYTES": 1024 * 1024,
    "BATCH_MAX": 500,
    "NOTE_MAX_LENGTH": 500,
    "INTAKE_WINDOW_HOURS": 168,
    "CLOCK_SKEW_SECONDS": 300,
    # What to do with personal data found in free text: "redact" or "reject".
    "FREE_TEXT_POLICY": "redact",
    # Deployment data: None means the shipped defaults.
    "TAXONOMY_FILE": None,
    "AREAS_MODE": "h3",
    "AREAS_FILE": None,
    "H3_RESOLUTION": 8,
    # How long a verified token is trusted without reading the database again; a revocation
    # takes effect in every worker within this time. 0 checks the database on every request.
    "AUTH_CACHE_SECONDS": 5,
    # Enrollment codes for field devices.
    "ENROLLMENT_CODE_TTL_HOURS": 24,
    # Retention: the policy file (None: retention/default_policy.toml), rows per purge
    # transaction, how often the scheduler runs retention and signs a checkpoint, and how long
    # a retention lease lasts without renewal (SQLite; PostgreSQL uses an advisory lock).
    "RETENTION_POLICY_FILE": None,
    "RETENTION_BATCH_SIZE": 200,
    # After each batch the purge pauses this many times the batch's duration (0: flat out).
    "RETENTION_PAUSE_RATIO": 1.0,
    "RETENTION_INTERVAL_MINUTES": 60,
    "AUDIT_CHECKPOINT_MINUTES": 60,
    "RETENTION_LEASE_SECONDS": 120,
    # A destroyed data key's old bytes leave the vault's files once no reader holds them (each
    # run retries); pending longer than this, `retention status` and the DPO's view say non-compliant.
    "RETENTION_VAULT_ERASE_GRACE_MINUTES": 120,
    # Aggregated signals (service.signals): cells under K are never shown; one reporter counts
    # at most CONTRIBUTION_CAP times per (week, area, category); each weekly release spends
    # EPSILON_PER_RELEASE of an analyst organisation's BUDGET_PER_QUARTER (the default budget
    # opens every week of a quarter once); a week is released RELEASE_DELAY_DAYS after it ends,
    # which must outlast the intake window so that no report of a released week can still come.
    "SIGNALS_K": 5,
    "SIGNALS_CONTRIBUTION_CAP": 2,
    "SIGNALS_EPSILON_PER_RELEASE": 1.0,
    "SIGNALS_BUDGET_PER_QUARTER": 14.0,
    "SIGNALS_RELEASE_DELAY_DAYS": 8,
    # Contact tracing (service.tracing). Secrets: the Ed25519 key that signs upload tokens and
    # the ECDSA P-256 key that signs export files (each base64url of 32 bytes, or a file). Only
    # the process that builds exports (the scheduler, `safesignal tracing export`) reads the
    # export key.
    "TRACING_TOKEN_KEY": None,
    "TRACING_TOKEN_KEY_FILE": None,
    "TRACING_EXPORT_KEY": None,
    "TRACING_EXPORT_KEY_FILE": None,
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
    "LOG_LEVEL": "INFO",
}

SECRETS = (
    ("KEK", "KEK_FILE"), ("PSEUDONYM_KEY", "PSEUDONYM_KEY_FILE"), ("AUDIT_SIGNING_KEY", "AUDIT_SIGNING_KEY_FILE"),
    ("AUDIT_MAC_KEY", "AUDIT_MAC_KEY_FILE"),
    ("TRACING_TOKEN_KEY", "TRACING_TOKEN_KEY_FILE"),
)


class ConfigError(Exception):
    """The configuration cannot run; the message is one line naming what is wrong."""


def missing_secrets(config: dict[str, Any]) -> list[str]:
    """Names of the secrets that have neither a value nor a file configured."""
    missing = []
    for value, file in SECRETS:
        if config.get(value) or config.get(file):
            continue
        if value == "AUDIT_SIGNING_KEY" and config.get("AUDIT_PUBLIC_KEY"):
            continue  # an API process that only verifies
        missing.append(f"SAFESIGNAL_{value} or SAFESIGNAL_{file}")
    return missing


def check(config: dict[str, Any]) -> None:
    """Refuse configurations that cannot run (production without secrets, unknown modes)."""
    if config["ENV"] not in ("development", "production"):
        raise ConfigError("SAFESIGNAL_ENV must be 'development' or 'production'")
    if config["ENV"] == "production":
        missing = missing_secrets(config)
        for name in ("DATABASE_URL", "KEYS_DATABASE_URL"):
            if not config.get(name):
                missing.append(f"SAFESIGNAL_{name}")
        if missing:
            raise ConfigError("production mode needs " + ", ".join(missing))
    if config["FREE_TEXT_POLICY"] not in ("redact", "reject"):
        raise ConfigError("SAFESIGNAL_FREE_TEXT_POLICY must be 'redact' or 'reject'")
    if config["AREAS_MODE"] not in ("h3", "polygons"):
        raise ConfigError("SAFESIGNAL_AREAS_MODE must be 'h3' or 'polygons'")
    if config.get("KEYS_DATABASE_URL") and config.get("DATABASE_URL") and _same_database(config["KEYS_DATABASE_URL"], config["DATABASE_URL"]):
        raise ConfigError("SAFESIGNAL_KEYS_DATABASE_URL must name another database than SAFESIGNAL_DATABASE_URL")
    for key in ("MAX_BODY_BYTES", "BATCH_MAX", "NOTE_MAX_LENGTH", "INTAKE_WINDOW_HOURS", "H3_RESOLUTION", "AUTH_CACHE_SECONDS",
                "TRACING_RESPONSE_FLOOR_MS"):
        if not isinstance(config[key], int) or isinstance(config[key], bool) or config[key] < 0:
            raise ConfigError(f"SAFESIGNAL_{key} must be a non-negative integer")
    ratio = config["RETENTION_PAUSE_RATIO"]
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or not 0 <= ratio <= 100:
        raise ConfigError("SAFESIGNAL_RETENTION_PAUSE_RATIO must be a number from 0 to 100")
    for key in ("SIGNALS_EPSILON_PER_RELEASE", "SIGNALS_BUDGET_PER_QUARTER"):
        value = config[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1000:
            raise ConfigError(f"SAFESIGNAL_{key} must be a number above 0 and at most 1000")
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
    window = config["INTAKE_WINDOW_HOURS"] * 3600 + config["CLOCK_SKEW_SECONDS"]
    if isinstance(config["SIGNALS_RELEASE_DELAY_DAYS"], int) and config["SIGNALS_RELEASE_DELAY_DAYS"] * 86400 < window:
        raise ConfigError(
            "SAFESIGNAL_SIGNALS_RELEASE_DELAY_DAYS must outlast the intake window and clock skew: "
            "a report of a released week could still arrive"
        )
    for key in ("RETENTION_BATCH_SIZE", "RETENTION_INTERVAL_MINUTES", "AUDIT_CHECKPOINT_MINUTES", "RETENTION_LEASE_SECONDS",
                "RETENTION_VAULT_ERASE_GRACE_MINUTES",
                "SIGNALS_K", "SIGNALS_CONTRIBUTION_CAP", "SIGNALS_RELEASE_DELAY_DAYS",
                "TRACING_CODE_TTL_MINUTES", "TRACING_CODES_PER_DAY", "TRACING_REDEEM_FAILURES_PER_HOUR",
                "TRACING_TOKEN_TTL_MINUTES", "TRACING_EXPORT_PERIOD_HOURS", "TRACING_EXPORT_MIN_KEYS",
                "TRACING_EXPORT_PADDING_RANGE", "TRACING_EXPORT_MAX_KEYS_PER_FILE", "TRACING_EXPORT_INTERVAL_MINUTES"):
        if not isinstance(config[key], int) or isinstance(config[key], bool) or config[key] < 1:
            raise ConfigError(f"SAFESIGNAL_{key} must be a positive integer")


def _same_database(first: str, second: str) -> bool:
    """Whether two SQLAlchemy URLs name one database (whatever the driver or spelling)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        a, b = make_url(first), make_url(second)
    except ArgumentError:
        raise ConfigError("SAFESIGNAL_DATABASE_URL and SAFESIGNAL_KEYS_DATABASE_URL must be SQLAlchemy URLs") from None
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        import os

        return os.path.realpath(a.database or "") == os.path.realpath(b.database or "")
    default_port = {"postgresql": 5432}.get(a.get_backend_name())
    return (a.host or "localhost", a.port or default_port, a.database) == (b.host or "localhost", b.port or default_port, b.database)
