"""A consultant signs in through a real browser and sees their home page."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.timesheets.factories import TimeEntryFactory
from timesheets.selectors import week_start

pytestmark = pytest.mark.browser


def test_consultant_signs_in_and_sees_the_home_page(page, screenshot, consultant, project):
    monday = week_start(timezone.localdate())
    TimeEntryFactory(person=consultant, project=project, date=monday, hours="7.5")
    TimeEntryFactory(person=consultant, project=project, date=monday - dt.timedelta(days=7))

    page.goto("/")
    assert "/accounts/login/" in page.url  # sent to sign in first
    screenshot(page, "login")
    page.get_by_label("E-mail address").fill(consultant.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/")
    assert page.get_by_role("heading", name="Hello, Cora").is_visible()
    week = page.get_by_role("region", name="My week")
    assert "7.5" in week.inner_text()
    assert page.get_by_text("APOLLO").first.is_visible()
    # A consultant's navigation has no admin entry.
    assert page.get_by_role("navigation", name="Main").get_by_text("Admin").count() == 0
    path = screenshot(page, "home")
    assert path.stat().st_size > 10_000

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")


def test_wrong_password_shows_a_message(page, consultant):
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(consultant.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That e-mail address and password")
