"""Services of the shared app: personal API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.models import ApiToken, User

TOKEN_PREFIX = "psa_"  # noqa: S105 - a public marker, not a secret
API_AREAS = (
    "crm", "projects", "timesheets", "billing", "ledger", "webhooks", "jobs", "tokens",
    "automation",
)  # fmt: skip
# Read and write per area, and one narrow scope for websites that post leads.
API_SCOPES: tuple[str, ...] = (
    *(f"{area}:{access}" for area in API_AREAS for access in ("read", "write")),
    "leads:create",
)


def token_hash(token: str) -> str:
    # A plain SHA-256 is right here: the token is 256 random bits, so there is nothing for a
    # slow hash to protect against, and lookups must be a single indexed equality.
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(
    *, user: User, name: str, scopes: list[str], expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns it with its plaintext, which is never stored or shown again."""
    fields: dict[str, str] = {}
    if not name.strip():
        fields["name"] = "Give the token a name, e.g. the system that will use it."
    unknown = sorted(set(scopes) - set(API_SCOPES))
    if unknown:
        fields["scopes"] = f"Unknown scope(s): {', '.join(unknown)}."
    elif not scopes:
        fields["scopes"] = "Choose at least one scope."
    if expires_at is not None and expires_at <= timezone.now():
        fields["expires_at"] = "The expiry must be in the future."
    if fields:
        raise errors.ValidationFailed("The token cannot be created.", fields=fields)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name.strip()[:100],
            prefix=plaintext[:12],
            token_hash=token_hash(plaintext),
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
        )
        audit_record(
            action="api_token.created", obj=token, actor=user,
            after={"name": token.name, "scopes": token.scopes},
        )  # fmt: skip
    return token, plaintext


def api_token_revoke(*, token: ApiToken, actor: Any) -> ApiToken:
    if token.user_id != getattr(actor, "pk", None) and not getattr(actor, "is_superuser", False):
        raise errors.PermissionDenied("You can only revoke your own tokens.")
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if updated:
            audit_record(action="api_token.revoked", obj=token, actor=actor)
    token.refresh_from_db()
    return token


def api_token_authenticate(plaintext: str) -> ApiToken | None:
    """The usable token with this plaintext, or None. Notes its use at most once a minute."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.usable(now)
        .select_related("user")
        .filter(token_hash=token_hash(plaintext), user__is_active=True)
        .first()
    )
    if token and (token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1)):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
