"""Configuration: defaults, then SAFESIGNAL_* environment variables.

Every setting is read from an environment variable of the same name with the SAFESIGNAL_ prefix
(`SAFESIGNAL_DATABASE_URL`, ...). Values are parsed as JSON where they can be (Flask's
`from_prefixed_env`), so `SAFESIGNAL_BATCH_MAX=200` is an integer. The README lists them all.

This module holds the shared settings (mode, databases, secrets, body limit, deployment data,
the retention policy file, logging); each domain declares its own defaults and check beside it
(`service/<domain>/domain.py`), and create_app applies them all.

Secrets have no defaults. In development mode (the default) missing keys are created in the instance
folder and logged as development-only; in production mode the service refuses to start and names
what is missing in one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    # Request bodies, and how far in the future an observation may be (intake, tracing uploads).
    "MAX_BODY_BYTES": 1024 * 1024,
    "CLOCK_SKEW_SECONDS": 300,
    # Deployment data: None means the shipped defaults.
    "TAXONOMY_FILE": None,
    "AREAS_MODE": "h3",
    "AREAS_FILE": None,
    "H3_RESOLUTION": 8,
    # The retention policy file (None: retention/default_policy.toml): every domain's data classes.
    "RETENTION_POLICY_FILE": None,
    # Contact tracing's keys: the Ed25519 key that signs upload tokens and the ECDSA P-256 key
    # that signs export files (each base64url of 32 bytes, or a file). Only the process that
    # builds exports (the scheduler, `safesignal tracing export`) reads the export key.
    "TRACING_TOKEN_KEY": None,
    "TRACING_TOKEN_KEY_FILE": None,
    "TRACING_EXPORT_KEY": None,
    "TRACING_EXPORT_KEY_FILE": None,
    # The key (base64url of 32 bytes, or a file) that signs the web pages' session cookie and
    # their forms' CSRF tokens.
    "WEB_SECRET_KEY": None,
    "WEB_SECRET_KEY_FILE": None,
    "LOG_LEVEL": "INFO",
}

SECRETS = (
    ("KEK", "KEK_FILE"), ("PSEUDONYM_KEY", "PSEUDONYM_KEY_FILE"), ("AUDIT_SIGNING_KEY", "AUDIT_SIGNING_KEY_FILE"),
    ("AUDIT_MAC_KEY", "AUDIT_MAC_KEY_FILE"),
    ("TRACING_TOKEN_KEY", "TRACING_TOKEN_KEY_FILE"),
    ("WEB_SECRET_KEY", "WEB_SECRET_KEY_FILE"),
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
        # An API process may be given the public key instead: say so, as the README does.
        public = " (or SAFESIGNAL_AUDIT_PUBLIC_KEY for an API process)" if value == "AUDIT_SIGNING_KEY" else ""
        missing.append(f"SAFESIGNAL_{value} or SAFESIGNAL_{file}{public}")
    return missing


def check(config: dict[str, Any]) -> None:
    """Refuse shared settings that cannot run (production without secrets, unknown modes)."""
    if config["ENV"] not in ("development", "production"):
        raise ConfigError("SAFESIGNAL_ENV must be 'development' or 'production'")
    if config["ENV"] == "production":
        missing = missing_secrets(config)
        for name in ("DATABASE_URL", "KEYS_DATABASE_URL"):
            if not config.get(name):
                missing.append(f"SAFESIGNAL_{name}")
        if missing:
            raise ConfigError("production mode needs " + ", ".join(missing))
    if config["AREAS_MODE"] not in ("h3", "polygons"):
        raise ConfigError("SAFESIGNAL_AREAS_MODE must be 'h3' or 'polygons'")
    if config.get("KEYS_DATABASE_URL") and config.get("DATABASE_URL") and _same_database(config["KEYS_DATABASE_URL"], config["DATABASE_URL"]):
        raise ConfigError("SAFESIGNAL_KEYS_DATABASE_URL must name another database than SAFESIGNAL_DATABASE_URL")
    require_integers(config, ("MAX_BODY_BYTES", "H3_RESOLUTION"), least=0)


def require_integers(config: Mapping[str, Any], keys: Iterable[str], least: int) -> None:
    """Refuse any of `keys` that is not an integer of at least `least` (0: non-negative, 1: positive)."""
    for key in keys:
        if not isinstance(config[key], int) or isinstance(config[key], bool) or config[key] < least:
            raise ConfigError(f"SAFESIGNAL_{key} must be a {'non-negative' if least == 0 else 'positive'} integer")


def require_number(config: Mapping[str, Any], key: str, above: float, most: float, *, inclusive: bool = False) -> None:
    """Refuse `key` unless it is a number above `above` (or at it, if inclusive) and at most `most`."""
    value = config[key]
    if (not isinstance(value, (int, float)) or isinstance(value, bool) or value > most
            or (value < above if inclusive else value <= above)):
        raise ConfigError(f"SAFESIGNAL_{key} must be a number {'from' if inclusive else 'above'} "
                          f"{above:g} {'to' if inclusive else 'and at most'} {most:g}")


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
