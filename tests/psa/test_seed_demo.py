import datetime as dt

import pytest
from django.core.management import call_command

from crm.models import Customer
from ledger.models import LegalEntity
from projects.models import Project
from psa.automation.demo import DEMO_LOGINS, DEMO_PASSWORD
from psa.automation.demo.firm import seed
from psa.kernel.models import User
from psa.kernel.roles import Role, has_role
from timesheets.models import TimeEntry

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)  # a Wednesday


def _counts():
    return [m.objects.count() for m in (User, LegalEntity, Customer, Project, TimeEntry)]


def test_the_demo_firm_is_believable():
    seed(today=TODAY)
    assert LegalEntity.objects.count() == 2
    assert Customer.objects.count() == 8
    consultants = User.objects.filter(groups__name=Role.CONSULTANT)
    managers = User.objects.filter(groups__name=Role.PROJECT_MANAGER)
    assert consultants.exclude(groups__name=Role.PROJECT_MANAGER).count() == 10
    assert managers.count() == 3
    assert User.objects.filter(groups__name=Role.FINANCE).count() == 1
    entries = TimeEntry.objects.all()
    first, last = min(e.date for e in entries), max(e.date for e in entries)
    assert (last - first).days >= 7 * 11
    assert last < TODAY
    statuses = set(entries.values_list("status", flat=True))
    assert statuses == {"approved", "submitted", "draft", "rejected"}
    # Nobody logs more than a day's work on one day.
    from django.db.models import Sum

    per_day = TimeEntry.objects.values("person", "date").annotate(h=Sum("hours"))
    assert max(row["h"] for row in per_day) <= 24
    # Reminders work out of the box: every entity has the default dunning levels.
    from billing.models import DunningLevel

    for entity in LegalEntity.objects.all():
        days = DunningLevel.objects.filter(legal_entity=entity).values_list("days_from_due")
        assert sorted(d for (d,) in days) == [-3, 0, 7, 14]


def test_seeding_twice_creates_no_duplicates():
    seed(today=TODAY)
    before = _counts()
    report = seed(today=TODAY)
    assert report.created == {}
    assert _counts() == before


def test_every_demo_login_works_and_holds_its_role(client):
    call_command("seed_demo")
    for role, email in DEMO_LOGINS:
        user = User.objects.get(email=email)
        assert user.check_password(DEMO_PASSWORD)
        expected = {
            "consultant": Role.CONSULTANT,
            "project manager": Role.PROJECT_MANAGER,
            "finance": Role.FINANCE,
            "admin": Role.ADMIN,
        }[role]
        assert has_role(user, expected)
    assert (
        client.post(
            "/accounts/login/", {"username": DEMO_LOGINS[0][1], "password": DEMO_PASSWORD}
        ).status_code
        == 302
    )


def test_the_demo_bills_every_billing_model_and_the_books_balance():
    from billing.models import InvoiceLine, LineKind
    from ledger.selectors import trial_balance

    seed(today=TODAY)
    kinds = set(InvoiceLine.objects.values_list("kind", flat=True))
    assert {
        LineKind.TIME,
        LineKind.RECURRING,
        LineKind.MILESTONE,
        LineKind.FUND_DRAWDOWN,
        LineKind.FUND_TOP_UP,
        LineKind.WRITE_DOWN,
    } <= kinds
    for entity in LegalEntity.objects.all():
        rows = trial_balance(legal_entity=entity, as_of=TODAY)
        assert sum(r.debit for r in rows) == sum(r.credit for r in rows)


def test_the_demos_wip_is_its_approved_unbilled_time_at_its_accrued_value():
    """Every T&M project's WIP in the books is exactly the accrued value of its approved time
    that no issued invoice billed yet: billed time left nothing behind (no 0.03 residues)."""
    from django.db.models import Sum

    from billing.models import TimeEntryBilling
    from ledger.models import JournalLine, RoleMapping

    seed(today=TODAY)
    invoiced = TimeEntryBilling.objects.filter(
        released_at__isnull=True, line__invoice__status__in=["issued", "partially_paid", "paid"]
    ).values("time_entry_id")
    wip_accounts = RoleMapping.objects.filter(role="unbilled_revenue").values("account_id")
    checked = 0
    for project in Project.objects.filter(billing_model="time_and_materials"):
        books = (
            JournalLine.objects.filter(
                account_id__in=wip_accounts, project_id=project.pk
            ).aggregate(s=Sum("debit") - Sum("credit"))["s"]
            or 0
        )
        held = (
            TimeEntry.objects.filter(project=project, status="approved", billable=True)
            .exclude(pk__in=invoiced)
            .aggregate(s=Sum("accrued_functional"))["s"]
            or 0
        )
        assert books == held, project.code
        checked += 1
    assert checked
