"""Versions of objects for optimistic concurrency (HTTP ETag / If-Match).

The API sends an object's ETag; a client sends it back in ``If-Match`` when it changes the
object. The service that changes it checks the tag on the row it locked, inside its own
transaction, so no other writer can slip in between the check and the write.
"""

from __future__ import annotations

import hashlib
from typing import Any

from psa.kernel import errors


def etag_of(obj: Any) -> str:
    """A strong validator of an object: its identity and the moment it last changed.

    ``updated_at`` is ``auto_now``: every save (each service writes it in ``update_fields``)
    moves it, so a changed object always has a new ETag.
    """
    stamp = obj.updated_at.isoformat() if obj.updated_at else ""
    raw = f"{obj._meta.label}:{obj.pk}:{stamp}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def etag_require(obj: Any, expected: str | None) -> None:
    """Raise 412 unless ``expected`` (an If-Match value) names the object's current version.

    No value, or ``*``, accepts any version (a client that does not use ETags).
    """
    header = (expected or "").strip()
    if not header or header == "*":
        return
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if etag_of(obj) not in wanted:
        raise errors.PreconditionFailed(
            "The object changed since you read it; fetch it again and retry.",
            fields={"If-Match": "Does not match the current ETag."},
        )
