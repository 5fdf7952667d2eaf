"""Login throttling: repeated failures for one account or from one address slow down.

After LOGIN_FAILURES_BEFORE_DELAY failures for an account (four times as many from one
address, which may be an office behind one NAT), each further attempt must wait a delay that
doubles with every failure (2 s, 4 s, 8 s … up to LOGIN_MAX_DELAY). Counters live in the
shared cache (Redis) and are incremented atomically, so every web worker sees the same state;
a successful login clears the account's.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 3600
IP_FACTOR = 4


def _scopes(username: str, ip: str) -> list[tuple[str, int]]:
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    threshold = settings.LOGIN_FAILURES_BEFORE_DELAY
    return [
        (f"login-fail:acct:{account}", threshold),
        (f"login-fail:ip:{ip}", threshold * IP_FACTOR),
    ]


def wait_seconds(username: str, ip: str) -> int:
    """Seconds the caller must still wait before another attempt (0: go ahead)."""
    now = time.time()
    untils = cache.get_many([f"{key}:until" for key, _ in _scopes(username, ip)]).values()
    return max([0, *(int(until - now + 0.999) for until in untils)])


def record_failure(username: str, ip: str) -> None:
    now = time.time()
    for key, threshold in _scopes(username, ip):
        cache.add(f"{key}:count", 0, WINDOW_SECONDS)
        failures = cache.incr(f"{key}:count")
        over = failures - threshold
        if over >= 0:
            delay = min(2 ** (over + 1), settings.LOGIN_MAX_DELAY)
            cache.set(f"{key}:until", now + delay, WINDOW_SECONDS)


def record_success(username: str, ip: str) -> None:
    # Only the account's counter: one valid login must not reset an address that is
    # guessing passwords for other accounts.
    key, _ = _scopes(username, ip)[0]
    cache.delete_many([f"{key}:count", f"{key}:until"])
