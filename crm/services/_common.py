"""What every crm service module shares: the sales roles, field validation, domains."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models

from crm.models import FREE_MAIL_DOMAINS
from psa.kernel import errors
from psa.kernel.roles import Role

SALES_ROLES = (Role.PROJECT_MANAGER, Role.FINANCE)
MAX_MESSAGE_LENGTH = 5000


def validate(obj: models.Model, *, exclude: list[str] | None = None) -> None:
    """Run the model's field validation; a failure names each field (ValidationFailed)."""
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise errors.ValidationFailed(
            "Please correct the highlighted fields.", fields=dict(exc.message_dict)
        ) from exc


def email_domain(email: str) -> str:
    """The domain of an address, lower case ("" if there is none)."""
    return email.rpartition("@")[2].strip().lower() if "@" in email else ""


def website_domain(website: str) -> str:
    """ "https://www.Acme.example/about" -> "acme.example"."""
    text = website.strip().lower()
    if not text:
        return ""
    try:
        host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    except ValueError:  # e.g. an unbalanced "[" (an invalid IPv6 literal)
        return ""
    return host.removeprefix("www.")


def company_domain(*, email: str, website: str) -> str:
    """The company's own domain: the e-mail's unless it is a free-mail one, else the website's."""
    domain = email_domain(email)
    if domain and domain not in FREE_MAIL_DOMAINS:
        return domain
    domain = website_domain(website)
    return "" if domain in FREE_MAIL_DOMAINS else domain
