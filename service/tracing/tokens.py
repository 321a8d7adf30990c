"""Upload tokens: what the app gets for a verification code, and spends on one key upload.

A JWT signed with Ed25519 (PyJWT, "EdDSA"): compact, deterministic signatures, and verified
against an explicit list holding that one algorithm, so a token claiming "none" or HS256 is
refused. Claims: issuer, audience (tokens for another service or purpose are refused), issue and
expiry time (short-lived), a random one-time id (`jti`, refused once used), and what the partner
entered (test date or symptom onset). Nothing names the code, the pharmacy or the phone.

Expiry is checked here against the injected clock, not by PyJWT against the wall clock.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.tracing.codes import ONSET_KINDS, Onset, TracingError

ALGORITHMS = ["EdDSA"]
ISSUER = "safesignal"
_REQUIRED = ["iss", "aud", "iat", "exp", "jti", "onset_kind", "onset_date"]


class InvalidToken(TracingError):
    """Not a token of ours for this audience, or expired (one error: which check failed is not said)."""


@dataclass(frozen=True)
class UploadClaims:
    jti_hash: bytes
    expires_at: dt.datetime
    onset: Onset


class TokenIssuer:
    """Signs and verifies upload tokens with one Ed25519 key."""

    def __init__(self, seed: bytes, *, audience: str, ttl: dt.timedelta):
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self._public = self._key.public_key()
        # Signs the tokens of fake exchanges: the same shape and length, valid nowhere.
        self._decoy = Ed25519PrivateKey.generate()
        self.audience = audience
        self.ttl = ttl

    def __repr__(self) -> str:
        return f"TokenIssuer(audience={self.audience!r})"

    def __reduce__(self) -> object:
        raise TypeError("TokenIssuer holds a private key and cannot be pickled")

    def _claims(self, onset: Onset, now: dt.datetime) -> tuple[dict[str, object], dt.datetime]:
        issued = int(now.timestamp())
        expires = issued + int(self.ttl.total_seconds())
        return {
            "iss": ISSUER,
            "aud": self.audience,
            "iat": issued,
            "exp": expires,
            "jti": base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("="),
            "onset_kind": onset.kind,
            "onset_date": onset.date.isoformat(),
        }, dt.datetime.fromtimestamp(expires, dt.timezone.utc)

    def issue(self, onset: Onset, now: dt.datetime) -> tuple[str, dt.datetime]:
        """A token for one upload, and when it expires."""
        claims, expires = self._claims(onset, now)
        return jwt.encode(claims, self._key, algorithm="EdDSA"), expires

    def decoy(self, now: dt.datetime) -> tuple[str, dt.datetime]:
        """What a fake exchange gets: a token like a real one, signed by a key nobody trusts."""
        kind = ONSET_KINDS[secrets.randbelow(len(ONSET_KINDS))]
        onset = Onset(kind, now.date() - dt.timedelta(days=secrets.randbelow(7)))
        claims, expires = self._claims(onset, now)
        return jwt.encode(claims, self._decoy, algorithm="EdDSA"), expires

    def verify(self, token: str, now: dt.datetime) -> UploadClaims:
        """The claims of a valid, unexpired token of this audience; InvalidToken otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=ISSUER,
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
            expires = dt.datetime.fromtimestamp(int(claims["exp"]), dt.timezone.utc)
            onset = Onset(str(claims["onset_kind"]), dt.date.fromisoformat(str(claims["onset_date"])))
            jti = str(claims["jti"])
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
            raise InvalidToken() from None
        if expires <= now or onset.kind not in ONSET_KINDS or not jti:
            raise InvalidToken()
        return UploadClaims(hashlib.sha256(jti.encode()).digest(), expires, onset)
