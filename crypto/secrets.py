"""Secret files: 32 random bytes, base64url-encoded on one line, mode 0600.

Each secret (a KEK, the pseudonym key) lives in its own file. The file is
created once with O_CREAT|O_EXCL and mode 0600, so creating never overwrites an
existing secret and the secret is never readable by other users, not even for
an instant. Error messages name the path, never the content.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from .errors import CryptoError

__all__ = ["SECRET_SIZE", "create_secret_file", "load_secret"]

SECRET_SIZE = 32

_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*={0,2}")


def decode_secret(text: str | bytes, size: int = SECRET_SIZE) -> bytes:
    """Decode base64url text (padding optional) into exactly size bytes.

    Raises ValueError with a message that does not quote the input.
    """
    if isinstance(text, str):
        try:
            text = text.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("secret is not base64url text") from None
    text = text.strip()
    # The decoders skip or translate characters outside the alphabet; check
    # first so that a mangled or standard-base64 file is noticed.
    if not _BASE64URL.fullmatch(text):
        raise ValueError("secret is not base64url text")
    text += b"=" * (-len(text) % 4)
    try:
        secret = base64.urlsafe_b64decode(text)
    except binascii.Error:
        raise ValueError("secret is not base64url text") from None
    if len(secret) != size:
        raise ValueError(f"secret must decode to {size} bytes")
    return secret


def encode_secret(secret: bytes) -> str:
    """Encode a secret as one line of padded base64url text."""
    return base64.urlsafe_b64encode(secret).decode("ascii") + "\n"


def load_secret(path: str | os.PathLike[str]) -> bytes:
    """Read a 32-byte secret from a base64url file; CryptoError if unusable."""
    try:
        with open(path, "rb") as f:
            text = f.read(4096)
    except OSError as exc:
        raise CryptoError(f"cannot read secret file {os.fspath(path)!r}: {exc.strerror}") from None
    try:
        return decode_secret(text)
    except ValueError as exc:
        raise CryptoError(f"secret file {os.fspath(path)!r}: {exc}") from None


def write_new_secret_file(path: str | os.PathLike[str], secret: bytes) -> None:
    """Create path with mode 0600 holding secret; FileExistsError if it exists."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(encode_secret(secret))
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        # Do not leave a truncated secret behind for the next start to load.
        os.unlink(path)
        raise


def create_secret_file(path: str | os.PathLike[str]) -> bytes:
    """Create a new 32-byte random secret file (mode 0600) and return the secret.

    Refuses to overwrite: raises FileExistsError if path exists.
    """
    secret = os.urandom(SECRET_SIZE)
    write_new_secret_file(path, secret)
    return secret
