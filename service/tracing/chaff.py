"""Plausible deniability: fake requests that look, on the wire, like real ones.

Apps send fake code exchanges and fake uploads at random (with the header `SafeSignal-Fake: 1`;
real requests send `SafeSignal-Fake: 0`, so the header's size gives nothing away), so that an
observer of the encrypted traffic cannot tell a phone whose owner tested positive. The server
answers a fake with the same status, the same headers and the same number of bytes as a real
success, and every answer on this path, success or error, real or fake, is padded to one size
and sent after a time drawn from one distribution (ResponseClock).
"""

from __future__ import annotations

import base64
import random
import secrets
import time
from typing import Any

import msgspec

FAKE_HEADER = "SafeSignal-Fake"
# Every body on this path is padded to this many bytes.
RESPONSE_BYTES = 1024
_encoder = msgspec.json.Encoder()


def is_fake(headers: Any) -> bool:
    """Whether the app marked this request as fake."""
    return headers.get(FAKE_HEADER, "0").strip() == "1"


class ResponseClock:
    """When to answer: at a random deadline drawn from one fixed distribution, real or fake.

    Every answer of an endpoint on this path, a success or an error, real or fake, leaves
    uniform(D, 2D) after the request began, D = SAFESIGNAL_TRACING_RESPONSE_FLOOR_MS (100): far
    above the work of a real request (a few milliseconds), so how long an answer takes says
    nothing of its kind or its work. Only a real request whose work outlasts its deadline (a
    database stall) answers late; `overruns` counts those.

    What we tried first, and why not: the reference server's chaff tracker sleeps a fake request
    for the mean real latency, which a distribution test tells apart at once; sampling recent real
    durations lagged whenever the database changed pace (a KS test saw it); and a D that follows
    the slowest recent real request made one stall slow every answer for long after, and made D's
    jump, seen by anyone sending fakes, mark the request before it as real.
    """

    def __init__(self, floor: float):
        self._floor = floor
        self._random = random.SystemRandom()
        self.overruns = 0

    def deadline(self) -> float:
        return self._floor * (1 + self._random.random())

    def hold(self, started: float) -> None:
        """Sleep until the deadline of a request begun at `started` (time.perf_counter)."""
        remaining = started + self.deadline() - time.perf_counter()
        if remaining > 0:
            time.sleep(remaining)
        else:
            self.overruns += 1


def padded(body: dict[str, Any]) -> bytes:
    """`body` as JSON with a `padding` field of random text, RESPONSE_BYTES long in all (errors
    too: the one error shape with a `padding` member, documented as the schema PaddedError)."""
    bare = _encoder.encode({**body, "padding": ""})
    room = -len(bare) % RESPONSE_BYTES  # a long list of field errors takes the next multiple
    # Random base64url, so that a compressing proxy cannot shrink padding more than a token.
    filler = base64.urlsafe_b64encode(secrets.token_bytes(room)).decode()[:room]
    return _encoder.encode({**body, "padding": filler})
