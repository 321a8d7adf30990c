"""Exceptions raised by the crypto package.

Callers decide what to do by the class they catch: a ``DecryptionError`` means
"this ciphertext cannot be read" (treat it like a missing row), a
``KeyDestroyedError`` means "this epoch has been shredded, refuse the write",
a ``KekError`` means "the key-encryption keys are misconfigured" (an
operator problem; the process should not serve). An ``ExportError`` means
"this Exposure Notification key export file cannot be trusted" (discard it),
a ``SigningKeyError`` that the export signing key is misconfigured.
"""

from __future__ import annotations

__all__ = ["CryptoError", "DecryptionError", "ExportError", "KeyDestroyedError", "KekError", "SigningKeyError"]


class CryptoError(Exception):
    """Base class of every error raised by the crypto package."""


class DecryptionError(CryptoError):
    """A ciphertext could not be decrypted, whatever the reason.

    Bad tag, wrong associated data, truncation, unknown or destroyed key and
    unknown version all raise this one error with one fixed message, so that
    neither the message nor the exception chain tells an attacker which check
    failed. Raise it ``from None`` and never put input bytes into it.
    """

    MESSAGE = "Decryption failed."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class KeyDestroyedError(CryptoError):
    """Asked to encrypt under an epoch whose data key has been destroyed."""


class KekError(CryptoError):
    """Key-encryption key material is bad or missing, or cannot unwrap a key.

    Messages name the KEK id (or a file path), never key material.
    """


class ExportError(CryptoError):
    """A key export file could not be opened or verified, whatever the reason.

    Not a zip, wrong entries, an entry too large, a bad header, a signature that
    is absent, malformed or made with another key, or contents that do not
    parse: one error, whose message says what kind of check failed but never
    quotes the file. Raise it ``from None``.
    """


class SigningKeyError(CryptoError):
    """The key export signing key cannot be loaded or is not an ECDSA P-256 key.

    Messages never include key material.
    """
