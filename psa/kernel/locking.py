"""Advisory locks with named key spaces: one scheme for the whole product.

A row lock (``select_for_update``) serialises writers of a row that exists. When there is no
row yet to lock (the first lead from an e-mail address) or the unit of work is wider than a
row (one billing run per legal entity), a PostgreSQL transaction-scoped advisory lock does it:

    with transaction.atomic():
        lock_keys(LockSpace.BILLING_RUN, legal_entity.pk)
        ...

The lock is ``pg_advisory_xact_lock(space, key)``: the space is the first 32-bit key, so two
areas can never collide, and the lock is released when the transaction ends (commit or
rollback) — never leaked by an exception. Several keys are locked in sorted order, so two
transactions that lock the same set never deadlock each other (the idea of pretix's
``lock_objects``).
"""

from __future__ import annotations

import enum
import hashlib

from django.db import connection


class LockSpace(enum.IntEnum):
    """Every advisory key space. Add a member; never reuse or renumber one."""

    BILLING_RUN = 1  # one billing run per legal entity at a time
    LEAD_EMAIL = 2  # one intake per (legal entity, e-mail address) at a time


def _key(value: int | str) -> int:
    """A signed 32-bit key: integers as they are (ids), strings by a stable hash.

    A hash collision only serialises two unrelated callers a little more; it never lets two
    holders of the same key in at once.
    """
    if isinstance(value, int) and -(2**31) <= value < 2**31:
        return value
    digest = hashlib.blake2b(str(value).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_keys(space: LockSpace, *keys: int | str) -> None:
    """Take the transaction-scoped advisory locks of ``keys`` in ``space``; waits for holders.

    Must run inside ``transaction.atomic()``: outside one the lock would end at once.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lock_keys() needs a transaction: call it inside transaction.atomic()")
    with connection.cursor() as cursor:
        for key in sorted({_key(k) for k in keys}):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [int(space), key])
