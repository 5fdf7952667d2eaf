"""Web-to-lead form keys: the configuration of a form a firm embeds on its website."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction

from crm.models import LeadFormKey
from crm.services._common import validate
from psa.kernel import errors
from psa.kernel.audit import audit_record


def lead_form_key_create(
    *,
    legal_entity: Any,
    name: str,
    owner: Any,
    allowed_origins: list[str] | None = None,
    is_default: bool = False,
    actor: Any = None,
) -> LeadFormKey:
    origins = [o.strip().rstrip("/") for o in (allowed_origins or []) if o.strip()]
    bad = [
        o
        for o in origins
        if urlsplit(o).scheme not in ("http", "https") or not urlsplit(o).hostname
    ]
    if bad:
        raise errors.ValidationFailed(
            "Origins must look like https://www.example.com.",
            fields={"allowed_origins": f"Not an origin: {', '.join(bad)}"},
        )
    with transaction.atomic():
        if is_default:
            LeadFormKey.objects.filter(is_default=True).update(is_default=False)
        form_key = LeadFormKey(
            legal_entity=legal_entity,
            name=name,
            owner=owner,
            # 32 random bytes = 256 bits, URL-safe: unguessable, and fine in a query string.
            key=secrets.token_urlsafe(32),
            allowed_origins=origins,
            is_default=is_default,
        )
        validate(form_key)
        form_key.save()
        audit_record(action="lead_form_key.create", obj=form_key, actor=actor)
    return form_key
