"""Plausible deniability: fake requests that look, on the wire, like real ones.

Apps send fake code exchanges and fake uploads at random (with the header `SafeSignal-Fake: 1`;
real requests send `SafeSignal-Fake: 0`, so the header's size gives nothing away), so that an
observer of the encrypted traffic cannot tell a phone whose owner tested positive. The server
answers a fake with the same status, the same headers and the same number of bytes as a real
success (every response on this path is padded to one size), and after a time drawn from the
same distribution (ResponseClock).
"""

from __future__ import annotations

import base64
import collections
import random
import secrets
import threading
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
    """When to answer: at a random deadline drawn from one distribution for real and fake alike.

    Every request of one endpoint, real or fake, is answered `hold`'s deadline after it began:
    uniform between D and 2D, where D is the larger of a floor (SAFESIGNAL_TRACING_RESPONSE_FLOOR_MS)
    and the slowest of the last `size` real requests' own work. A real request's work is done by
    then (but for a new slowest one), so how long an answer takes depends on neither its kind nor
    its work. Imitating the real durations instead (the reference server's chaff tracker sleeps a
    fake request for the mean, which a distribution test tells apart at once; we tried sampling
    recent real durations too) lags behind whenever the database changes pace, and a KS test saw it.
    """

    def __init__(self, floor: float, size: int = 64):
        self._floor = floor
        self._work: collections.deque[float] = collections.deque(maxlen=size)
        self._lock = threading.Lock()
        self._random = random.SystemRandom()

    def record(self, seconds: float) -> None:
        """How long a real request's own work took."""
        with self._lock:
            self._work.append(seconds)

    def deadline(self) -> float:
        with self._lock:
            slowest = max(self._work, default=0.0)
        base = max(self._floor, slowest)
        return base * (1 + self._random.random())

    def hold(self, started: float) -> None:
        """Sleep until the deadline of a request begun at `started` (time.perf_counter)."""
        remaining = started + self.deadline() - time.perf_counter()
        if remaining > 0:
            time.sleep(remaining)


def padded(body: dict[str, Any]) -> bytes:
    """`body` as JSON with a `padding` field of random text, RESPONSE_BYTES long in all."""
    bare = _encoder.encode({**body, "padding": ""})
    room = RESPONSE_BYTES - len(bare)
    if room < 0:
        raise ValueError("response body larger than the padded size")
    # Random base64url, so that a compressing proxy cannot shrink padding more than a token.
    filler = base64.urlsafe_b64encode(secrets.token_bytes(room)).decode()[:room]
    return _encoder.encode({**body, "padding": filler})
