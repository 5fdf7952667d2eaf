"""Every list endpoint runs the same number of queries for one row as for a full page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import as_user

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/crm/leads/",
    "/api/v1/crm/customers/",
    "/api/v1/crm/contacts/",
    "/api/v1/crm/opportunities/",
    "/api/v1/projects/",
    "/api/v1/projects/milestones/",
    "/api/v1/projects/service-items/",
    "/api/v1/projects/p0/tasks/",
    "/api/v1/projects/p0/assignments/",
    "/api/v1/projects/p0/rates/",
    "/api/v1/time/entries/search/",
    "/api/v1/time/expenses/",
    "/api/v1/time/approval-policies/",
    "/api/v1/billing/runs/",
    "/api/v1/billing/invoices/",
    "/api/v1/billing/reports/project-profitability/",
    "/api/v1/jobs/",
    "/api/v1/webhooks/",
]


@pytest.mark.parametrize("url", LISTS)
def test_list_query_count_does_not_grow_with_the_page(world, finance, url):
    client = as_user(finance)
    counts, sizes = [], []
    for size in (1, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"page_size": size})
        assert response.status_code == 200, response.content
        sizes.append(len(response.json()["results"]))
        counts.append(len(queries))
    assert sizes[0] == 1 and sizes[1] >= 2, sizes
    assert counts[0] == counts[1], f"{url}: {counts} queries for {sizes} rows"
