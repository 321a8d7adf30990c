"""Load the service's secrets: the key-encryption key(s), the pseudonym key, the audit keys, the tracing keys.

Each secret comes from its own environment variable (base64url) or file. In development mode a
missing secret is created in the instance folder (mode 0600) and logged as development-only. In
production mode no loader ever creates a file: a missing secret is a ConfigError (most are already
refused at start by `service.config.check`; the audit signing key of an API given only the public
key, and the export key, are refused where they are first needed).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from crypto.audit import CheckpointSigner, EntryAuthenticator
from crypto.errors import CryptoError
from crypto.exposure_export import export_private_key
from crypto.kek import KekSet, LocalKek
from crypto.secrets import create_secret_file, decode_secret, load_secret
from service.config import ConfigError

log = logging.getLogger(__name__)

DEV_KEK_FILE = "keys/kek.key"
DEV_PSEUDONYM_FILE = "keys/pseudonym.key"
DEV_AUDIT_SIGNING_FILE = "keys/audit-signing.key"
DEV_AUDIT_MAC_FILE = "keys/audit-mac.key"
DEV_TRACING_TOKEN_FILE = "keys/tracing-token.key"
DEV_TRACING_EXPORT_FILE = "keys/tracing-export.key"
DEV_WEB_SECRET_FILE = "keys/web-secret.key"
DEV_SMS_EMULATOR_FILE = "keys/sms-emulator.key"


def _dev_file(instance_path: str, name: str) -> Path:
    path = Path(instance_path) / name
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def load_keks(config: dict[str, Any], instance_path: str) -> KekSet:
    """The current KEK and any previous ones still being rotated away from."""
    try:
        return _load_keks(config, instance_path)
    except (ValueError, OSError, CryptoError) as error:
        raise ConfigError(f"SAFESIGNAL_KEK, SAFESIGNAL_KEK_FILE or SAFESIGNAL_KEK_PREVIOUS_FILES: {error}") from None


def _load_keks(config: dict[str, Any], instance_path: str) -> KekSet:
    previous = tuple(
        LocalKek.from_file(name.strip())
        for name in str(config.get("KEK_PREVIOUS_FILES") or "").split(",")
        if name.strip()
    )
    if config.get("KEK"):
        current = LocalKek.from_b64(config["KEK"])
    elif config.get("KEK_FILE"):
        current = LocalKek.from_file(config["KEK_FILE"])
    else:
        _refuse_in_production(config, "KEK")
        path = _dev_file(instance_path, DEV_KEK_FILE)
        if path.exists():
            current = LocalKek.from_file(path)
        else:
            current = LocalKek.generate_file(path)
            log.warning("created a DEVELOPMENT-ONLY key-encryption key at %s", path)
    return KekSet(current, previous)


def load_pseudonym_key(config: dict[str, Any], instance_path: str) -> bytes:
    """The HMAC key for pseudonyms."""
    try:
        return _secret(config, instance_path, "PSEUDONYM_KEY", DEV_PSEUDONYM_FILE, "pseudonym key")
    except (ValueError, OSError, CryptoError) as error:
        raise ConfigError(f"SAFESIGNAL_PSEUDONYM_KEY or SAFESIGNAL_PSEUDONYM_KEY_FILE: {error}") from None


def load_audit_signer(config: dict[str, Any], instance_path: str) -> CheckpointSigner:
    """The Ed25519 key that signs audit checkpoints."""
    try:
        return CheckpointSigner(_secret(config, instance_path, "AUDIT_SIGNING_KEY", DEV_AUDIT_SIGNING_FILE, "audit signing key"))
    except (ValueError, OSError, CryptoError) as error:
        raise ConfigError(f"SAFESIGNAL_AUDIT_SIGNING_KEY or SAFESIGNAL_AUDIT_SIGNING_KEY_FILE: {error}") from None


def load_audit_authenticator(config: dict[str, Any], instance_path: str) -> EntryAuthenticator:
    """The HMAC key that authenticates audit entries (every writer of the log holds it)."""
    try:
        return EntryAuthenticator(_secret(config, instance_path, "AUDIT_MAC_KEY", DEV_AUDIT_MAC_FILE, "audit MAC key"))
    except (ValueError, OSError, CryptoError) as error:
        raise ConfigError(f"SAFESIGNAL_AUDIT_MAC_KEY or SAFESIGNAL_AUDIT_MAC_KEY_FILE: {error}") from None


def load_tracing_token_key(config: dict[str, Any], instance_path: str) -> bytes:
    """The Ed25519 seed that signs upload tokens."""
    try:
        return _secret(config, instance_path, "TRACING_TOKEN_KEY", DEV_TRACING_TOKEN_FILE, "tracing token key")
    except (ValueError, OSError, CryptoError) as error:
        raise ConfigError(f"SAFESIGNAL_TRACING_TOKEN_KEY or SAFESIGNAL_TRACING_TOKEN_KEY_FILE: {error}") from None


def load_web_secret_key(config: dict[str, Any], instance_path: str) -> bytes:
    """The key that signs the pages' session cookie and CSRF tokens."""
    try:
        return _secret(config, instance_path, "WEB_SECRET_KEY", DEV_WEB_SECRET_FILE, "web session key")
    except (ValueError, OSError, CryptoError) as error:
        raise ConfigError(f"SAFESIGNAL_WEB_SECRET_KEY or SAFESIGNAL_WEB_SECRET_KEY_FILE: {error}") from None


def load_sms_emulator_secret(config: dict[str, Any], instance_path: str) -> bytes:
    """The secret the SMS providers' credentials are derived from when texts go to the local
    emulator (development only: service.sms.domain)."""
    return _secret(config, instance_path, "SMS_EMULATOR_SECRET", DEV_SMS_EMULATOR_FILE, "SMS emulator secret")


def load_tracing_export_key(config: dict[str, Any], instance_path: str) -> ec.EllipticCurvePrivateKey:
    """The ECDSA P-256 key that signs export files, from its 32-byte secret.

    Production refuses to build exports without SAFESIGNAL_TRACING_EXPORT_KEY(_FILE): a key made
    up on the spot would not be the one the apps were given.
    """
    if config.get("ENV") == "production" and not (config.get("TRACING_EXPORT_KEY") or config.get("TRACING_EXPORT_KEY_FILE")):
        raise ConfigError("signing or publishing exports in production mode needs SAFESIGNAL_TRACING_EXPORT_KEY or SAFESIGNAL_TRACING_EXPORT_KEY_FILE")
    try:
        secret = _secret(config, instance_path, "TRACING_EXPORT_KEY", DEV_TRACING_EXPORT_FILE, "tracing export signing key")
    except (ValueError, OSError, CryptoError) as error:
        raise ConfigError(f"SAFESIGNAL_TRACING_EXPORT_KEY or SAFESIGNAL_TRACING_EXPORT_KEY_FILE: {error}") from None
    return export_private_key(secret)


def load_audit_public_key(config: dict[str, Any]) -> bytes | None:
    """SAFESIGNAL_AUDIT_PUBLIC_KEY (hex, as `safesignal audit checkpoints` prints it), if set."""
    text = config.get("AUDIT_PUBLIC_KEY")
    if not text:
        return None
    try:
        key = bytes.fromhex(str(text).strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError("SAFESIGNAL_AUDIT_PUBLIC_KEY must be 64 hex digits (an Ed25519 public key)")
    return key


def _secret(config: dict[str, Any], instance_path: str, name: str, dev_file: str, what: str) -> bytes:
    """A 32-byte secret from SAFESIGNAL_<name>, SAFESIGNAL_<name>_FILE, or (development) a created file."""
    if config.get(name):
        return decode_secret(str(config[name]))
    if config.get(f"{name}_FILE"):
        return load_secret(config[f"{name}_FILE"])
    _refuse_in_production(config, name)
    path = _dev_file(instance_path, dev_file)
    if path.exists():
        return load_secret(path)
    log.warning("created a DEVELOPMENT-ONLY %s at %s", what, path)
    return create_secret_file(path)


def _refuse_in_production(config: dict[str, Any], name: str) -> None:
    # A key made up on the spot in production would sign or encrypt with a key nobody holds.
    if config.get("ENV") == "production":
        raise ConfigError(f"production mode needs SAFESIGNAL_{name} or SAFESIGNAL_{name}_FILE")


def default_database_url(instance_path: str, name: str = "safesignal.db") -> str:
    """The embedded SQLite database (or, with name="keys.db", key vault) in the instance folder."""
    os.makedirs(instance_path, exist_ok=True)
    return "sqlite:///" + str(Path(instance_path) / name)
