"""A week of time from keyboard to approval, in a real browser: the consultant fills the week
with the keyboard and submits it, the manager rejects one day with a reason, the consultant
sees the reason, fixes the day and resubmits, and the manager approves."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.projects.factories import TaskFactory
from timesheets.models import TimeEntry
from timesheets.selectors import week_start

# The role groups come from a data migration; a transactional test before this one flushes
# them, and serialized_rollback puts them back.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, user):
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")


def test_a_week_from_keyboard_to_approval(page, screenshot, consultant, project_manager, project):
    TaskFactory(project=project, name="Build")
    TaskFactory(project=project, name="Meetings")
    monday = week_start(timezone.localdate()) - dt.timedelta(days=7)
    week_url = f"/time/{monday.isoformat()}/"

    # 1. The consultant fills the week with the keyboard only.
    sign_in(page, consultant)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Timesheet").click()
    page.wait_for_url("**/time/")
    page.goto(week_url)
    build_monday = page.get_by_label(f"APOLLO Build {monday:%A} {monday.day} {monday:%b}")
    build_monday.click()
    for hours in ["8", "8", "7.5", "8"]:
        page.keyboard.type(hours)
        page.keyboard.press("Tab")
    page.keyboard.type("6")
    page.keyboard.press("Enter")  # down to Meetings, Friday
    page.keyboard.type("2")
    page.keyboard.press("ArrowLeft")  # the whole value is selected, so the arrow moves
    page.keyboard.press("ArrowLeft")
    page.keyboard.type("1")
    page.keyboard.press("ArrowUp")  # back to Build, Thursday: leaving saves Meetings
    expect(page.locator("#week-total")).to_have_text("40.5")
    row_build = page.get_by_role("row", name="APOLLO Build")
    expect(row_build.locator("td").last).to_have_text("37.5")
    friday = monday + dt.timedelta(days=4)
    expect(page.locator(f"#day-total-{friday:%Y%m%d}")).to_have_text("8")

    # A bad value is refused in place, naming the problem, and nothing is saved.
    saturday = page.get_by_label(f"APOLLO Build {monday + dt.timedelta(5):%A %-d %b}")
    saturday.fill("25")
    saturday.press("Tab")
    expect(page.get_by_role("alert")).to_contain_text("at most 24 hours")
    screenshot(page, "1-filled-with-an-error")
    saturday = page.get_by_label(f"APOLLO Build {monday + dt.timedelta(5):%A %-d %b}")
    saturday.fill("")
    saturday.press("Tab")
    expect(page.get_by_role("alert")).to_have_count(0)

    # A note through the popover.
    page.get_by_label(f"Note and billable for {monday:%A}").first.click()
    page.get_by_label("Note", exact=True).first.fill("Sprint planning and build")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_label(f"Note and billable for {monday:%A}").first).to_have_class(
        "cellmore has-note"
    )
    assert TimeEntry.objects.filter(note="Sprint planning and build").count() == 1
    screenshot(page, "2-note")

    page.get_by_role("button", name="Submit week").click()
    expect(page.get_by_text("Week submitted: 7 entries.")).to_be_visible()
    screenshot(page, "3-submitted")
    sign_out(page)

    # 2. The manager rejects Tuesday with a reason.
    sign_in(page, project_manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    card = page.get_by_role("region", name=f"{consultant} · week of")
    expect(card).to_contain_text("40.5 h")
    tuesday = monday + dt.timedelta(days=1)
    card.get_by_label("Reject").select_option(tuesday.isoformat())
    card.get_by_label("Reason").fill("Tuesday was the offsite: book it on Meetings")
    screenshot(page, "4-inbox")
    card.get_by_role("button", name="Reject").click()
    expect(page.get_by_text(f"Sent 1 entry back to {consultant}.")).to_be_visible()
    sign_out(page)

    # 3. The consultant sees the reason, moves the hours and resubmits.
    sign_in(page, consultant)
    page.goto(week_url)
    expect(page.get_by_role("region", name="Sent back to you")).to_contain_text(
        "Tuesday was the offsite: book it on Meetings"
    )
    screenshot(page, "5-rejected")
    page.get_by_label(f"APOLLO Build {tuesday:%A %-d %b}").fill("0")
    page.keyboard.press("Enter")  # down to Meetings, Tuesday
    # The day shows 8 h before and after the move: wait for the 0 in between, so the 8 below
    # is the Meetings cell's answer, not the old total (a slow save made this test flaky).
    expect(page.locator(f"#day-total-{tuesday:%Y%m%d}")).to_have_text("0")
    page.keyboard.type("8")
    page.keyboard.press("Tab")
    expect(page.locator(f"#day-total-{tuesday:%Y%m%d}")).to_have_text("8")
    page.get_by_role("button", name="Submit week").click()
    expect(page.get_by_text("Week submitted: 1 entry.")).to_be_visible()
    sign_out(page)

    # 4. The manager approves the week with the bulk action.
    sign_in(page, project_manager)
    page.goto("/time/approvals/")
    page.get_by_label("Select all").check()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.get_by_text("Approved 7 entries.")).to_be_visible()
    expect(page.get_by_text("Nothing is waiting for your approval.")).to_be_visible()
    screenshot(page, "6-approved")
    sign_out(page)

    entries = TimeEntry.objects.filter(person=consultant)
    assert set(entries.values_list("status", flat=True)) == {"approved"}
    assert sum(e.hours for e in entries) == Decimal("40.5")
    sign_in(page, consultant)
    page.goto(week_url)
    expect(page.get_by_text("7 approved")).to_be_visible()
    expect(page.get_by_role("button", name="Submit week")).to_be_disabled()
    screenshot(page, "7-consultant-sees-approved")
