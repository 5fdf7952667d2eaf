"""Login throttling: repeated failures for one account or from one address slow down.

After LOGIN_FAILURES_BEFORE_DELAY failures for an account (four times as many from one
address, which may be an office behind one NAT), each further attempt must wait a delay that
doubles with every failure (2 s, 4 s, 8 s … up to LOGIN_MAX_DELAY). Counters live in the
shared cache (Redis) and are incremented atomically, so every web worker sees the same state;
a successful login clears the account's. The Django admin's sign-in is throttled the same way,
and password-reset requests are counted per address and per e-mail (``hit``).

Rate limits **fail open**: when the cache (Redis) is down, every check allows and logs a
warning. A throttle protects against abuse; it must never be the reason the sign-in page, the
pay page or the lead form answers 500. Nothing that moves money relies on it (those paths hold
their guarantees in the database).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# What a cache that is down or unreachable raises (redis-py, or the socket beneath it).
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)
_T = TypeVar("_T")


def fail_open(allow: Any) -> Callable[[Callable[..., _T]], Callable[..., _T]]:
    """When the cache is down, log and return ``allow`` (the answer that lets the caller in)."""

    def decorate(func: Callable[..., _T]) -> Callable[..., _T]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> _T:
            try:
                return func(*args, **kwargs)
            except CACHE_ERRORS as exc:
                log.warning("rate limit %s skipped, the cache is down: %s", func.__name__, exc)
                return allow

        return wrapper

    return decorate


WINDOW_SECONDS = 3600
IP_FACTOR = 4


def _scopes(username: str, ip: str) -> list[tuple[str, int]]:
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    threshold = settings.LOGIN_FAILURES_BEFORE_DELAY
    return [
        (f"login-fail:acct:{account}", threshold),
        (f"login-fail:ip:{ip}", threshold * IP_FACTOR),
    ]


@fail_open(allow=0)
def wait_seconds(username: str, ip: str) -> int:
    """Seconds the caller must still wait before another attempt (0: go ahead)."""
    now = time.time()
    untils = cache.get_many([f"{key}:until" for key, _ in _scopes(username, ip)]).values()
    return max([0, *(int(until - now + 0.999) for until in untils)])


@fail_open(allow=None)
def record_failure(username: str, ip: str) -> None:
    now = time.time()
    for key, threshold in _scopes(username, ip):
        cache.add(f"{key}:count", 0, WINDOW_SECONDS)
        failures = cache.incr(f"{key}:count")
        over = failures - threshold
        if over >= 0:
            delay = min(2 ** (over + 1), settings.LOGIN_MAX_DELAY)
            cache.set(f"{key}:until", now + delay, WINDOW_SECONDS)


@fail_open(allow=None)
def record_success(username: str, ip: str) -> None:
    # Only the account's counter: one valid login must not reset an address that is
    # guessing passwords for other accounts.
    key, _ = _scopes(username, ip)[0]
    cache.delete_many([f"{key}:count", f"{key}:until"])


@fail_open(allow=False)
def hit(key: str, *, limit: int, window: int) -> bool:
    """Count one request against ``key``; True once more than ``limit`` came in ``window``
    seconds. add() + incr() are atomic in Redis, so every web worker shares one exact count
    and the window starts with the first request."""
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr(): start a new window
        cache.add(key, 1, window)
        count = 1
    return count > limit
