"""The firm simulator: a month of a firm driven by the real beat jobs needs nobody, and a week
a rule must stop waits on the operations page with its reason."""

import datetime as dt
import html
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from psa.automation.models import JobRun
from psa.automation.simulator import Plan, simulate
from psa.automation.simulator_report import report_build, report_lines
from psa.kernel import clock
from timesheets.models import EntryStatus, TimeEntry

pytestmark = pytest.mark.django_db(transaction=False)
START = dt.date(2026, 11, 2)  # a Monday


@pytest.fixture(autouse=True)
def clean_clock():
    clock.reset()
    yield
    clock.reset()


def run(plan):
    since = timezone.now()
    firm, events, last = simulate(plan)
    return firm, events, report_build(firm=firm, events=events, as_of=last, since=since)


def test_a_month_of_five_consultants_needs_no_person_and_every_exception_is_explained():
    firm, events, report = run(Plan(consultants=5, days=31, seed=7, start=START))

    assert report.human_actions == 0, report_lines(report)
    assert report.waits == {}
    assert report.unexplained == []
    assert report.balanced
    assert not any(report.stuck.values()), report.stuck
    # The month really happened: time approved and billed by the jobs, invoices sent, money in.
    assert (
        not TimeEntry.objects.filter(project__legal_entity=firm.entity)
        .exclude(status__in=(EntryStatus.APPROVED, EntryStatus.DRAFT))
        .exists()
    )
    assert report.figures["invoices issued"] > 0
    assert report.figures["invoices sent"] == report.figures["invoices issued"]
    assert report.figures["invoices paid"] > 0
    assert events.late_weeks and events.overtime_days and events.days_off
    # Each exception the people caused is in the report with its explanation.
    assert all(" late" in e or "days after" in e or ": " in e for e in report.exceptions)
    assert set(events.late_weeks) <= set(report.exceptions)
    lines = "\n".join(report_lines(report))
    assert "Human actions needed: 0" in lines
    assert "Trial balance balanced: yes" in lines


def test_a_week_over_capacity_waits_on_the_operations_page_with_its_reason(client):
    plan = Plan(consultants=3, days=15, seed=8, start=START, overload=(1, 0), no_note=(2, 1))
    firm, _, report = run(plan)

    person = firm.consultants[1]
    project = firm.by_person[person.pk]
    reason = "50 h in the week > capacity 40 h"
    weeks = report.actions["weeks awaiting approval"]
    assert len(weeks) == 2, weeks
    assert str(person) in weeks[0] and reason in weeks[0]
    # The week logged without notes on the project that requires them waits too, named.
    careless = firm.consultants[2]
    assert str(careless) in weeks[1] and "no note on Mon 09 Nov" in weeks[1]
    assert report.human_actions == 2
    assert report.unexplained == []
    waits = [w["reason"] for run in JobRun.objects.filter(job="auto-approve") for w in run.waits]
    assert any(reason in w for w in waits) and any("no note on" in w for w in waits)
    assert all(reason in w or "no note on" in w for w in waits)
    # The other weeks of the same person went through.
    assert TimeEntry.objects.filter(person=person, status=EntryStatus.APPROVED).exists()

    client.force_login(firm.finance)
    page = html.unescape(client.get("/operations/").content.decode())
    assert str(person) in page
    assert project.code.upper() in page.upper()
    assert reason in page


def test_the_simulator_refuses_a_clock_that_cannot_move(settings):
    settings.CLOCK_CONTROL = False
    with pytest.raises(CommandError, match="CLOCK_CONTROL"):
        call_command("simulate", consultants=1, days=1)


def test_running_the_same_seed_again_adds_nothing():
    from billing.models import Invoice, Payment
    from ledger.models import JournalEntry

    def counts():
        return (
            TimeEntry.objects.count(),
            Invoice.objects.count(),
            Payment.objects.count(),
            JournalEntry.objects.count(),
        )

    plan = Plan(consultants=2, days=10, seed=9, start=START)
    firm, _, _ = simulate(plan)
    before = counts()
    out = io.StringIO()
    call_command("simulate", consultants=2, days=10, seed=9, start=START, stdout=out)
    assert counts() == before
    printed = out.getvalue()
    assert f"({firm.entity.code}): 2 consultants, 10 days to 11 Nov 2026" in printed
    assert "Human actions needed: 0" in printed
    assert "Trial balance balanced: yes" in printed
    assert TimeEntry.objects.exists()


def test_an_item_without_a_reason_is_named_unexplained():
    from psa.automation.simulator_report import SimReport

    report = SimReport(
        actions={"weeks awaiting approval": ["Ann, week of 02 Nov: ", "Bob, week of 02 Nov: over"]},
        waits={"auto-approve": {"": 1}},
    )
    assert report.unexplained == [
        "weeks awaiting approval: Ann, week of 02 Nov: ",
        "auto-approve: (no reason)",
    ]
    assert report.human_actions == 2
