"""A correlation id follows one piece of work from the request to its tasks and deliveries.

The middleware sets it per request; Celery carries it in a message header (psa/celery.py);
log lines and audit events read it from here.
"""

from __future__ import annotations

import contextvars
import re
import uuid

_current: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_id() -> str:
    return uuid.uuid4().hex


def get() -> str:
    return _current.get()


def set_id(value: str | None) -> contextvars.Token[str]:
    """Set the current id; an untrusted or missing value is replaced by a fresh one."""
    if not value or not _VALID.match(value):
        value = new_id()
    return _current.set(value)


def reset(token: contextvars.Token[str]) -> None:
    _current.reset(token)
