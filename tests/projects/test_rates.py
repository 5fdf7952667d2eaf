"""Rate resolution, most specific first: person-on-project → role-on-project → project →
customer → firm default. Each case lists the rate lines that exist and who logs time when."""

import datetime as dt
from decimal import Decimal

import pytest

from projects.models import RateCard, RateLevel
from projects.selectors import entry_rate, rate_resolve
from tests.ledger.factories import LegalEntityFactory
from tests.projects.factories import AssignmentFactory, ProjectFactory
from tests.psa.factories import UserFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import TimeEntry

pytestmark = pytest.mark.django_db

MON, TUE, WED, SUN = (dt.date(2026, 11, d) for d in (16, 17, 18, 22))
JAN1 = dt.date(2026, 1, 1)

# name: (level, rate, effective_from, effective_to, who) — "who" is the person or role keyed
LINES = {
    "firm": (RateLevel.FIRM, "80", JAN1, None, None),
    "other_firm": (RateLevel.FIRM, "70", JAN1, None, "other_entity"),
    "customer": (RateLevel.CUSTOMER, "90", JAN1, None, None),
    "project": (RateLevel.PROJECT, "100", JAN1, None, None),
    "project_until_nov1": (RateLevel.PROJECT, "100", JAN1, dt.date(2026, 11, 1), None),
    "role_senior": (RateLevel.ROLE_ON_PROJECT, "120", JAN1, None, "Senior"),
    "sam_on_project": (RateLevel.PERSON_ON_PROJECT, "150", JAN1, None, "sam"),
    "sam_until_tue": (RateLevel.PERSON_ON_PROJECT, "150", JAN1, TUE, "sam"),
    "sam_from_wed": (RateLevel.PERSON_ON_PROJECT, "160", WED, None, "sam"),
    "sam_elsewhere": (RateLevel.PERSON_ON_PROJECT, "999", JAN1, None, "sam@other"),
}

CASES = [
    # (lines, person, day, expected)
    ([], "sam", MON, None),
    (["firm"], "sam", MON, "80"),
    (["other_firm"], "sam", MON, None),
    (["firm", "customer"], "sam", MON, "90"),
    (["firm", "customer", "project"], "sam", MON, "100"),
    (["firm", "customer", "project", "role_senior"], "sam", MON, "120"),
    (["firm", "customer", "project", "role_senior"], "ana", MON, "100"),  # ana is an Analyst
    (["firm", "project", "role_senior", "sam_on_project"], "sam", MON, "150"),
    (["project", "sam_on_project"], "ana", MON, "100"),
    (["project", "sam_elsewhere"], "sam", MON, "100"),
    (["customer", "project_until_nov1"], "sam", MON, "90"),  # the project rate ended
    (["customer", "project_until_nov1"], "sam", dt.date(2026, 11, 1), "100"),  # last day in force
    # The person's rate changes mid-week: Monday and Tuesday at the old rate, then the new one.
    (["project", "sam_until_tue", "sam_from_wed"], "sam", MON, "150"),
    (["project", "sam_until_tue", "sam_from_wed"], "sam", TUE, "150"),
    (["project", "sam_until_tue", "sam_from_wed"], "sam", WED, "160"),
    (["project", "sam_until_tue", "sam_from_wed"], "sam", SUN, "160"),
    (["project", "sam_from_wed"], "sam", TUE, "100"),  # before the new line starts
]


@pytest.mark.parametrize(("lines", "who", "day", "expected"), CASES)
def test_rate_resolution(lines, who, day, expected):
    entity = LegalEntityFactory()
    other_entity = LegalEntityFactory()
    project = ProjectFactory(customer__legal_entity=entity)
    other_project = ProjectFactory(customer=project.customer)
    people = {"sam": UserFactory(), "ana": UserFactory()}
    AssignmentFactory(project=project, person=people["sam"], role="Senior")
    AssignmentFactory(project=project, person=people["ana"], role="Analyst")
    for name in lines:
        level, rate, start, end, key = LINES[name]
        line = RateCard(
            level=level, rate=Decimal(rate), currency="GBP", effective_from=start, effective_to=end
        )
        if level == RateLevel.FIRM:
            line.legal_entity = other_entity if key == "other_entity" else entity
        elif level == RateLevel.CUSTOMER:
            line.customer = project.customer
        elif level == RateLevel.PERSON_ON_PROJECT:
            line.project = other_project if key == "sam@other" else project
            line.person = people["sam"]
        else:
            line.project = project
            line.role = key or ""
        line.save()

    want = Decimal(expected) if expected else None
    assert rate_resolve(project=project, person=people[who], on=day) == want
    # The SQL expression used for money totals agrees with the Python-facing selector.
    entry = TimeEntryFactory(project=project, person=people[who], date=day)
    assert TimeEntry.objects.annotate(rate=entry_rate()).get(pk=entry.pk).rate == want


# --- changing a rate ----------------------------------------------------------------------


def test_a_rate_change_ends_the_old_line_the_day_before(project, consultant, project_manager):
    from projects.services import rate_card_change

    rate_card_change(project=project, rate="100", effective_from=JAN1, actor=project_manager)
    rate_card_change(project=project, rate="150", effective_from=JAN1, person=consultant)
    rate_card_change(project=project, rate="160", effective_from=WED, person=consultant)
    assert rate_resolve(project=project, person=consultant, on=TUE) == Decimal("150")
    assert rate_resolve(project=project, person=consultant, on=WED) == Decimal("160")
    assert rate_resolve(project=project, person=project_manager, on=WED) == Decimal("100")
    old = RateCard.objects.get(rate=150)
    assert (old.effective_from, old.effective_to) == (JAN1, TUE)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rate": "abc"}, "rate"),
        ({"rate": "-5"}, "rate"),
        ({"rate": "1.234"}, "rate"),
        ({"role": "Senior", "person": "consultant"}, "role"),
        ({"person": "outsider"}, "person"),
        ({"effective_from": JAN1}, "effective_from"),  # not after the latest line
    ],
)
def test_bad_rate_changes_name_the_field(request, project, kwargs, field):
    from projects.services import rate_card_change
    from psa.kernel.errors import ValidationFailed

    rate_card_change(project=project, rate="100", effective_from=JAN1)
    if "person" in kwargs:
        kwargs["person"] = request.getfixturevalue(kwargs["person"])
    with pytest.raises(ValidationFailed) as exc:
        rate_card_change(project=project, **{"rate": "120", "effective_from": WED, **kwargs})
    assert field in exc.value.fields


def test_the_manager_changes_a_rate_on_the_project_page(
    client, project_manager, consultant, project
):
    client.force_login(project_manager)
    response = client.post(
        "/projects/apollo/rates/",
        {"who": f"person:{consultant.pk}", "rate": "175", "effective_from": "2026-11-18"},
        follow=True,
    )
    assert "Rate changed." in response.content.decode()
    assert rate_resolve(project=project, person=consultant, on=WED) == Decimal("175")
    client.force_login(consultant)
    assert client.post("/projects/apollo/rates/", {"rate": "1"}).status_code == 403
