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
