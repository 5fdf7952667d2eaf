# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""A Content-Security-Policy on every page that allows only our own scripts and styles, and
templates that need nothing else (no inline scripts, event handlers or style attributes)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.billing.payment_fixtures import customer, firm, invoice  # noqa: F401
from tests.crm.factories import LeadFormKeyFactory

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Rendered by WeasyPrint into a PDF, never served to a browser.
NOT_SERVED = {"billing/invoice_pdf.html"}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def _directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


def _assert_strict(response):
    csp = _directives(response)
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert "unsafe" not in csp["default-src"]
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not HANDLER.search(html), HANDLER.search(html).group(0)
    assert not STYLE.search(html), STYLE.search(html).group(0)


def test_no_served_template_has_inline_scripts_handlers_or_styles():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name in NOT_SERVED:
            continue
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, HANDLER, STYLE):
            if match := pattern.search(text):
                offenders.append(f"{name}: {match.group(0)}")
    assert offenders == []


def test_public_pages_carry_the_policy(client, invoice, project_manager):
    LeadFormKeyFactory(owner=project_manager, is_default=True, allowed_origins=[])
    for url in ("/accounts/login/", "/accounts/password/reset/", f"/pay/{invoice.pay_token}/",
                "/leads/new/", "/admin/login/"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200, url
        csp = _directives(response)
        assert csp["script-src"] == "'self'", url
        assert csp["style-src"] == "'self'", url


@pytest.mark.parametrize(
    "url", ["/", "/time/", "/time/approvals/", "/projects/", "/operations/", "/billing/",
            "/accounts/tokens/", "/crm/leads/"],
)  # fmt: skip
def test_signed_in_pages_need_nothing_but_our_own_files(client, admin_user, project, url):
    client.force_login(admin_user)
    response = client.get(url, follow=True)
    assert response.status_code == 200, url
    _assert_strict(response)


def test_the_api_docs_load_their_script_from_a_url(client):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not INLINE_SCRIPT.search(html)
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
    assert _directives(page)["script-src"] == "'self'"
