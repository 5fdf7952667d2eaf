"""A visitor sends the public enquiry form; a manager qualifies the lead in the pipeline."""

import pytest

from crm.models import Lead, LeadStatus
from tests.conftest import PASSWORD
from tests.crm.factories import LeadFormKeyFactory

pytestmark = pytest.mark.browser


def test_visitor_enquires_and_manager_qualifies_the_lead(page, screenshot, project_manager):
    LeadFormKeyFactory(owner=project_manager, is_default=True, allowed_origins=[])

    # A visitor, not signed in, finds the form.
    page.goto("/leads/new/")
    assert page.get_by_role("heading", name="Tell us about your project").is_visible()
    page.get_by_label("Your name").fill("Priya Shah")
    page.get_by_label("E-mail").fill("priya-at-orbital")  # a typo first
    page.get_by_label("Company", exact=True).fill("Orbital Foods")
    page.get_by_label("How can we help?").fill("We need a data platform assessment in Q1.")
    page.get_by_role("button", name="Send").click()
    assert "does not look like an e-mail address" in page.locator(".field-error").inner_text()
    screenshot(page, "form-error")
    page.get_by_label("E-mail").fill("priya@orbitalfoods.example")
    screenshot(page, "form-filled")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/leads/thanks/")
    assert page.get_by_role("heading", name="Thank you — we got your message").is_visible()
    screenshot(page, "thanks")

    # The manager signs in and opens the pipeline.
    page.goto("/accounts/login/?next=/crm/leads/")
    page.get_by_label("E-mail address").fill(project_manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/crm/leads/")
    new_column = page.get_by_role("region", name="New")
    card = new_column.get_by_role("article", name="Priya Shah")
    assert "Orbital Foods" in card.inner_text()
    screenshot(page, "pipeline")

    card.get_by_role("button", name="Qualify").click()
    # htmx swaps the board: the card now sits in the Qualified column, no full reload.
    qualified = page.get_by_role("region", name="Qualified")
    qualified.get_by_role("article", name="Priya Shah").wait_for()
    assert new_column.get_by_role("article", name="Priya Shah").count() == 0
    screenshot(page, "qualified")
    assert Lead.objects.get().status == LeadStatus.QUALIFIED
