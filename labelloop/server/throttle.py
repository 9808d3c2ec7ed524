"""Login throttling: password guessing slows down exponentially, per account and per client.

After ``free`` consecutive failures for an account (or ``free_per_address``
for a client address, whatever the account), each further attempt must wait
``2 ** (failures - free)`` seconds, at most ``max_wait``; until then the login
is answered 429 with ``Retry-After`` at once, without checking the password
(a refused attempt costs no password hashing, so guessing does not slow the
server for everyone else). A correct password resets the account's count.
The counts live in each server process and are forgotten after ``forget``
of quiet; with several server processes each keeps its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LoginThrottle"]


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0


@dataclass(eq=False, kw_only=True)
class LoginThrottle:
    """Counts failed logins per account and per client address.

    Args:
        free: failures an account may have before waits begin.
        free_per_address: failures a client address may have before waits begin.
        max_wait: the longest wait, in seconds.
        forget: seconds of quiet after which a count starts over.
        clock: seconds, monotonic (tests pass their own).
    """

    free: int = 5
    free_per_address: int = 20
    max_wait: float = 900.0
    forget: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _records: dict[tuple[str, str], _Record] = field(default_factory=dict, init=False, repr=False)

    def _now(self) -> float:
        return float(self.clock())

    def _wait(self, key: tuple[str, str], free: int, now: float) -> float:
        record = self._records.get(key)
        if record is None or now - record.last > self.forget or record.failures < free:
            return 0.0
        wait = min(self.max_wait, 2.0 ** (record.failures - free))
        return max(0.0, record.last + wait - now)

    def retry_after(self, username: str, address: str) -> float:
        """Seconds before this account may try again from this address (0: now)."""
        now = self._now()
        with self._lock:
            return max(
                self._wait(("user", username.lower()), self.free, now),
                self._wait(("address", address), self.free_per_address, now),
            )

    def failed(self, username: str, address: str) -> None:
        """Count a wrong password (or an unknown account)."""
        now = self._now()
        with self._lock:
            for key in (("user", username.lower()), ("address", address)):
                record = self._records.setdefault(key, _Record())
                if now - record.last > self.forget:
                    record.failures = 0
                record.failures += 1
                record.last = now
            if len(self._records) > 100_000:  # a flood of made-up names: drop the oldest
                for old in sorted(self._records, key=lambda k: self._records[k].last)[:50_000]:
                    del self._records[old]

    def succeeded(self, username: str) -> None:
        """A correct password: the account's count starts over."""
        with self._lock:
            self._records.pop(("user", username.lower()), None)
