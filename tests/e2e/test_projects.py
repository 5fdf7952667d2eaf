"""The manager reads a project page (budget, burn chart, milestones); a consultant files an
expense with a receipt."""

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import expect

from projects.models import RateLevel
from tests.conftest import PASSWORD
from tests.projects.factories import MilestoneFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import Expense

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = bytes.fromhex(  # a valid 1x1 PNG: receipts are checked by content (checksums too)
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489000000"
    "0d49444154789c63e02fcbfb0f00037e01f3a9df61700000000049454e44ae426082"
)


def sign_in(page, user):
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def test_the_manager_reads_the_project_page(page, screenshot, project_manager, consultant, project):
    project.budget_hours = 120
    project.budget_amount = 15000
    project.save()
    RateCardFactory(project=project, rate="110")
    RateCardFactory(
        project=project, level=RateLevel.PERSON_ON_PROJECT, person=consultant, rate="140"
    )
    MilestoneFactory(project=project, name="Design sign-off", amount="4000")
    start = dt.date(2026, 9, 7)
    for week in range(10):
        for day in range(4 if week % 3 else 5):
            TimeEntryFactory(
                person=consultant,
                project=project,
                date=start + dt.timedelta(weeks=week, days=day),
                hours="3",
                status="approved",
            )
    sign_in(page, project_manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    page.get_by_role("link", name="APOLLO Apollo").click()
    expect(page.get_by_role("heading", name="APOLLO Apollo")).to_be_visible()
    expect(page.get_by_role("region", name="Hours", exact=True)).to_contain_text("132 of 120 h")
    expect(page.get_by_role("region", name="Billable value")).to_contain_text("18,480.00 GBP")
    expect(page.get_by_role("img", name="132 hours logged")).to_be_visible()
    expect(page.get_by_role("region", name="Milestones")).to_contain_text("Design sign-off")
    screenshot(page, "project")


def test_a_consultant_files_an_expense_with_a_receipt(
    page, screenshot, consultant, project, tmp_path: Path
):
    receipt = tmp_path / "taxi.png"
    receipt.write_bytes(PNG)
    not_a_receipt = tmp_path / "notes.pdf"
    not_a_receipt.write_text("just text")
    sign_in(page, consultant)
    page.goto("/time/expenses/")
    page.get_by_label("Amount").fill("38.40")
    page.get_by_label("Category").select_option("travel")
    page.get_by_label("Description").fill("Taxi to the client")
    page.get_by_label("Receipt").set_input_files(str(not_a_receipt))
    page.get_by_role("button", name="Add expense").click()
    expect(page.get_by_role("alert")).to_contain_text("must be a PDF, JPEG or PNG")
    screenshot(page, "refused")
    page.get_by_label("Receipt").set_input_files(str(receipt))
    page.get_by_role("button", name="Add expense").click()
    expect(page.get_by_text("Expense added.")).to_be_visible()
    expect(page.get_by_role("region", name="My expenses")).to_contain_text("38.40 GBP")
    screenshot(page, "added")
    assert Expense.objects.get().receipt.name.endswith(".png")
