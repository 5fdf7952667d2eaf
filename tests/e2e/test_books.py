"""Finance reads the books in a real browser, drills down to an entry and reverses it."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest

from ledger import rules
from ledger.models import JournalEntry
from ledger.services import journal_post
from tests.conftest import PASSWORD
from tests.ledger.factories import books, manual_entry

pytestmark = pytest.mark.browser


def test_finance_drills_down_and_reverses_an_entry(page, screenshot, finance):
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    books(code="de", functional_currency="EUR", name="Acme DE")
    journal_post(
        legal_entity=uk,
        event=rules.TimeApproved(amount=D("4500.00"), currency="GBP"),
        date=dt.date(2026, 1, 9), source_type="time_approval", source_id="2026-W02",
    )  # fmt: skip

    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(finance.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_text("Books").click()
    page.get_by_label("Legal entity").select_option(label="Acme UK")
    page.wait_for_url("**/ledger/uk/trial-balance/")
    table = page.get_by_role("table")
    assert "4,500.00 GBP" in table.inner_text()
    assert "balanced" in table.inner_text()
    screenshot(page, "trial-balance")

    page.get_by_role("link", name="1150 Unbilled revenue (WIP)").click()
    page.get_by_label("From").fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name=re.compile(r"^JE \d+$")).first.click()
    assert page.get_by_role("heading", name="Journal entry").is_visible()
    assert "time_approval:2026-W02" in page.content()

    # The time's own accrual is reversed by its own action, never by hand: the page says which.
    assert "reject or re-bill the time" in page.content()
    assert page.get_by_role("button", name="Post the reversing entry").count() == 0

    # A manual entry is the kind a person reverses.
    correction = manual_entry(uk, date=dt.date(2026, 1, 12), amount="120.00", actor=finance)
    page.goto(f"/ledger/uk/entries/{correction.pk}/")
    page.get_by_label("Reason").fill("Posted to the wrong account")
    page.get_by_role("button", name="Post the reversing entry").click()
    assert "reversed by entry" in page.get_by_role("listitem").first.inner_text()
    screenshot(page, "reversal")
    assert JournalEntry.objects.filter(event="reversal").count() == 1
