"""Job runs over the API: date-time filters at the edges of what PostgreSQL can store."""

import datetime as dt

import pytest
from django.utils import timezone

from psa.automation.models import JobRun
from tests.api.conftest import as_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs():
    now = timezone.now()
    old = JobRun.objects.create(job="dunning", started_at=now - dt.timedelta(days=3))
    new = JobRun.objects.create(job="dunning", started_at=now - dt.timedelta(hours=1))
    return old, new


@pytest.mark.parametrize(
    ("param", "found"),
    [("updated_since", 0), ("started_after", 0), ("started_before", 2)],
)
def test_an_offset_postgresql_cannot_store_is_filtered_in_utc(finance, runs, param, found):
    # ISO 8601 allows +17:39; PostgreSQL refuses offsets beyond ±15:59. The filter with a
    # method of its own (updated_since) sent it to the database as it was and answered 500.
    response = as_user(finance).get("/api/v1/jobs/", {param: "2099-06-05T00:28:52+17:39"})
    assert response.status_code == 200
    assert response.json()["count"] == found


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+12:00"])
def test_an_instant_outside_the_calendar_in_utc_is_a_400(finance, runs, value):
    response = as_user(finance).get("/api/v1/jobs/", {"updated_since": value})
    assert response.status_code == 400
    assert "updated_since" in response.json()["error"]["fields"]


def test_updated_since_with_a_far_offset_still_filters_in_utc(finance, runs):
    _, new = runs
    since = (new.started_at - dt.timedelta(minutes=5)).astimezone(
        dt.timezone(dt.timedelta(hours=15, minutes=30))
    )
    response = as_user(finance).get("/api/v1/jobs/", {"updated_since": since.isoformat()})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [new.pk]
