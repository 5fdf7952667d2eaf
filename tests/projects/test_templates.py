import datetime as dt
from decimal import Decimal

import pytest

from projects.models import (
    Milestone,
    MilestoneStatus,
    Project,
    RateCard,
    RateLevel,
    TemplateMilestone,
    TemplateRate,
    TemplateTask,
)
from projects.selectors import rate_resolve
from projects.services import project_create_from_template
from psa.kernel.errors import ValidationFailed
from psa.kernel.models import AuditEvent
from tests.crm.factories import CustomerFactory
from tests.projects.factories import AssignmentFactory, ProjectFactory, ProjectTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def template():
    tpl = ProjectTemplateFactory(code="discovery", billing_model="fixed_price", duration_days=90)
    TemplateTask.objects.create(template=tpl, name="Workshops")
    TemplateTask.objects.create(template=tpl, name="Internal", billable=False)
    TemplateMilestone.objects.create(template=tpl, name="Kick-off", amount="2000", day_offset=0)
    TemplateMilestone.objects.create(template=tpl, name="Report", amount="8000", day_offset=30)
    TemplateRate.objects.create(template=tpl, role="", rate="110")
    TemplateRate.objects.create(template=tpl, role="Architect", rate="160")
    return tpl


def test_a_template_becomes_a_project_with_no_rekeying(template, project_manager, consultant):
    customer = CustomerFactory(currency="EUR")
    start = dt.date(2026, 12, 1)
    project = project_create_from_template(
        template=template,
        customer=customer,
        code="ACME-DISC",
        name="Discovery",
        start_date=start,
        manager=project_manager,
        actor=project_manager,
    )
    assert project.code == "acme-disc"
    assert project.currency == "EUR"
    assert project.legal_entity_id == customer.legal_entity_id
    assert project.billing_model == "fixed_price"
    assert (project.budget_hours, project.budget_amount) == (Decimal("100"), Decimal("12000"))
    assert project.end_date == dt.date(2027, 3, 1)
    assert {(t.name, t.billable) for t in project.tasks.all()} == {
        ("Workshops", True),
        ("Internal", False),
    }
    assert [(m.name, m.planned_date, m.amount, m.status) for m in project.milestones.all()] == [
        ("Kick-off", start, Decimal("2000.00"), MilestoneStatus.PLANNED),
        ("Report", dt.date(2026, 12, 31), Decimal("8000.00"), MilestoneStatus.PLANNED),
    ]
    assert set(project.rates.values_list("level", "role", "rate", "currency")) == {
        (RateLevel.PROJECT, "", Decimal("110.00"), "EUR"),
        (RateLevel.ROLE_ON_PROJECT, "Architect", Decimal("160.00"), "EUR"),
    }
    # The rates work at once: an architect gets the role rate, anyone else the default.
    AssignmentFactory(project=project, person=consultant, role="Architect")
    assert rate_resolve(project=project, person=consultant, on=start) == Decimal("160")
    assert rate_resolve(project=project, person=project_manager, on=start) == Decimal("110")
    assert rate_resolve(project=project, person=consultant, on=start - dt.timedelta(1)) is None
    assert AuditEvent.objects.filter(action="project.created_from_template").count() == 1


def test_budget_given_overrides_the_template(template, project_manager):
    project = project_create_from_template(
        template=template,
        customer=CustomerFactory(),
        code="x1",
        name="X",
        start_date=dt.date(2026, 12, 1),
        manager=project_manager,
        budget_hours=Decimal("40"),
    )
    assert project.budget_hours == Decimal("40")
    assert project.budget_amount == Decimal("12000")


@pytest.mark.parametrize(
    ("code", "name", "field"),
    # A code the API's URLs use beside projects' (/api/v1/projects/milestones/) is reserved.
    [("", "X", "code"), ("ok", " ", "name"), ("Milestones", "X", "code"),
     ("service-items", "X", "code")],
)  # fmt: skip
def test_bad_input_names_the_field(template, project_manager, code, name, field):
    with pytest.raises(ValidationFailed) as exc:
        project_create_from_template(
            template=template,
            customer=CustomerFactory(),
            code=code,
            name=name,
            start_date=dt.date(2026, 12, 1),
            manager=project_manager,
        )
    assert field in exc.value.fields


def test_a_taken_code_creates_nothing(template, project_manager):
    ProjectFactory(code="taken")
    with pytest.raises(ValidationFailed) as exc:
        project_create_from_template(
            template=template,
            customer=CustomerFactory(),
            code="taken",
            name="X",
            start_date=dt.date(2026, 12, 1),
            manager=project_manager,
        )
    assert "code" in exc.value.fields
    assert Project.objects.count() == 1
    assert Milestone.objects.count() == 0
    assert RateCard.objects.count() == 0


def test_a_milestone_is_reached_once_and_never_after_invoicing(project_manager):
    from projects.services import milestone_reach
    from psa.kernel.errors import Conflict
    from tests.projects.factories import MilestoneFactory

    milestone = MilestoneFactory()
    day = dt.date(2026, 3, 2)
    assert milestone_reach(milestone=milestone, on=day, actor=project_manager).status == "reached"
    assert milestone_reach(milestone=milestone, on=day + dt.timedelta(1)).reached_on == day
    assert AuditEvent.objects.filter(action="milestone.reached").count() == 1
    invoiced = MilestoneFactory(status="invoiced")
    with pytest.raises(Conflict) as exc:
        milestone_reach(milestone=invoiced, on=day)
    assert "status" in exc.value.fields
