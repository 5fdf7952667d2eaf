"""Domain errors: raised by services, turned into 4xx responses by the API and the pages.

One shape everywhere: ``{"error": {"code", "message", "fields"}}``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule refused the request. Maps to a 4xx status, never a 500."""

    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, list[str] | str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        # Normalise to {field: [messages]} so clients see one shape.
        self.fields = {k: [v] if isinstance(v, str) else list(v) for k, v in (fields or {}).items()}

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationFailed(DomainError):
    status = 400
    code = "validation_failed"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The object is in a state that does not allow this (e.g. an illegal transition)."""

    status = 409
    code = "conflict"


class PreconditionFailed(DomainError):
    """An ``If-Match`` that no longer matches: someone changed the object since it was read."""

    status = 412
    code = "precondition_failed"
