"""Upload tokens: signed with Ed25519, bound to their audience, one-time, short-lived, carrying only the onset."""

from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tracing_support import FlaskTransport, granted_pharmacy

from service.tracing.tokens import InvalidToken, TokenIssuer
from tracing_client import api
from tracing_client.phone import Phone

NOW = dt.datetime(2026, 11, 29, 10, 17, 30, tzinfo=dt.timezone.utc)


def _token(client, partners, **onset):  # type: ignore[no-untyped-def]
    transport = FlaskTransport(client)
    _, pharmacy = granted_pharmacy(partners)
    return api.exchange(transport, api.issue_code(transport, pharmacy, **(onset or {"test_date": "2026-11-28"})))


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _upload(client, token, keys=None):  # type: ignore[no-untyped-def]
    keys = keys or Phone("p").keys_to_share(NOW)[:3]
    return client.post("/v1/tracing/keys", json={"token": token, "keys": keys}, headers={"SafeSignal-Fake": "0"})


def test_a_token_is_an_eddsa_jwt_that_carries_the_onset_and_nothing_else(client, partners):
    token = _token(client, partners, symptom_onset="2026-11-25")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"iss", "aud", "iat", "exp", "jti", "onset_kind", "onset_date"}
    assert claims["aud"] == "safesignal-tracing-upload"
    assert (claims["onset_kind"], claims["onset_date"]) == ("symptoms", "2026-11-25")
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert len(base64.urlsafe_b64decode(claims["jti"] + "==")) == 16


def test_a_token_works_once_and_a_replay_is_refused(client, partners):
    token = _token(client, partners)
    assert _upload(client, token).status_code == 200
    replay = _upload(client, token)
    assert replay.status_code == 409
    assert token not in replay.get_data(as_text=True)


def test_a_token_expires_to_the_second(client, partners, clock):
    early, late = _token(client, partners), _token(client, partners)
    expires = jwt.decode(early, options={"verify_signature": False})["exp"]
    clock.now = dt.datetime.fromtimestamp(expires, dt.timezone.utc) - dt.timedelta(microseconds=1)
    assert _upload(client, early, Phone("p").keys_to_share(NOW)[1:3]).status_code == 200
    clock.now += dt.timedelta(microseconds=1)
    assert _upload(client, late, Phone("p").keys_to_share(NOW)[1:3]).status_code == 403


def _forged(client, partners, algorithm: str, key: object) -> str:  # type: ignore[no-untyped-def]
    claims = jwt.decode(_token(client, partners), options={"verify_signature": False})
    claims["onset_date"] = "2026-11-20"
    return jwt.encode(claims, key, algorithm=algorithm)  # type: ignore[arg-type]


def test_forged_tokens_are_refused(client, partners, app):
    issuer_public = app.extensions["safesignal"].tracing.tokens._public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    genuine = _token(client, partners)
    header, payload, signature = genuine.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = [
        # alg none: an unsigned token
        _b64({"alg": "none", "typ": "JWT"}) + "." + payload + ".",
        # HS256 keyed with the public key (the algorithm-confusion attack)
        jwt.encode(claims, base64.b64encode(issuer_public).decode(), algorithm="HS256"),
        # signed by another Ed25519 key
        _forged(client, partners, "EdDSA", Ed25519PrivateKey.generate()),
        # a claim changed under the genuine signature
        header + "." + _b64({**claims, "onset_date": "2026-11-01"}) + "." + signature,
        # a signature byte changed
        header + "." + payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:],
        "not a token",
        "",
    ]
    for token in forged:
        response = _upload(client, token)
        assert response.status_code == 403, token
        assert response.get_json()["message"] == "Invalid or expired upload token: exchange a new code."
    assert _upload(client, genuine).status_code == 200


def test_a_token_for_another_audience_or_issuer_is_refused():
    seed = bytes(range(32))
    mine = TokenIssuer(seed, audience="safesignal-tracing-upload", ttl=dt.timedelta(minutes=15))
    other = TokenIssuer(seed, audience="another-service", ttl=dt.timedelta(minutes=15))
    from service.tracing.codes import Onset

    token, _ = other.issue(Onset("test", NOW.date()), NOW)
    with pytest.raises(InvalidToken):
        mine.verify(token, NOW)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(aud="safesignal-tracing-upload", iss="someone-else")
    with pytest.raises(InvalidToken):
        mine.verify(jwt.encode(claims, Ed25519PrivateKey.from_private_bytes(seed), algorithm="EdDSA"), NOW)
    claims.update(iss="safesignal")
    del claims["jti"]
    with pytest.raises(InvalidToken):
        mine.verify(jwt.encode(claims, Ed25519PrivateKey.from_private_bytes(seed), algorithm="EdDSA"), NOW)


def test_the_issuer_does_not_show_or_pickle_its_key():
    import pickle

    issuer = TokenIssuer(bytes(range(32)), audience="a", ttl=dt.timedelta(minutes=1))
    assert bytes(range(32)).hex() not in repr(issuer)
    with pytest.raises(TypeError):
        pickle.dumps(issuer)
