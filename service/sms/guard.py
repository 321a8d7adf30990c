"""The gateway-wide rate guard: at most SMS_INBOUND_PER_MINUTE webhooks a minute per worker.

A flood through the provider (a script texting from many numbers, a provider replaying its queue)
must not take the service down with it: past the limit, webhooks get 429 with Retry-After before
anything is read or written, and the provider (or a self-hosted gateway) sends them again later.
It is per worker process, in memory, so the service-wide limit is the setting times the workers:
it protects the service, it does not meter residents (flood control per number does that).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateGuard:
    """A sliding window of one minute, as two fixed windows weighted (Cloudflare's estimate)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self._limit = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._window = 0
        self._current = 0
        self._previous = 0

    def allow(self) -> int:
        """0 if this webhook may go on, else the seconds to wait (Retry-After)."""
        now = self._clock()
        window, offset = divmod(now, 60.0)
        with self._lock:
            if int(window) != self._window:
                self._previous = self._current if int(window) == self._window + 1 else 0
                self._window, self._current = int(window), 0
            estimate = self._previous * (1 - offset / 60.0) + self._current
            if estimate >= self._limit:
                return max(1, int(60 - offset))
            self._current += 1
            return 0
