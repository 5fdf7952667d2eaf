"""The served schema tells the truth: every operation's 4xx with the error shape, and the
rules the serializers enforce (closed bodies, non-blank names, unsigned amounts, date ranges)."""

import re

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _ref(schema, ref):
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def test_every_operation_documents_its_4xx_with_the_error_shape(schema):
    ops = [(p, m, o) for p, item in schema["paths"].items() for m, o in item.items()
           if m in METHODS]  # fmt: skip
    assert len(ops) > 80
    for path, method, op in ops:
        for code in ("400", "401", "403", "404", "406", "429"):
            response = op["responses"].get(code)
            assert response, f"{method.upper()} {path} does not document {code}"
            body = response["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (path, method, code)
        if "requestBody" in op:
            assert {"413", "415"} <= set(op["responses"]), (path, method)
    error = schema["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"code", "message", "fields"}


def test_request_bodies_are_closed_and_state_their_rules(schema):
    components = schema["components"]["schemas"]
    customer = components["CustomerCreateIn"]
    assert customer["additionalProperties"] is False
    assert customer["properties"]["name"]["minLength"] == 1
    assert re.search(customer["properties"]["name"]["pattern"], "   ") is None
    payment = components["PaymentIn"]
    amount = payment["properties"]["amount"]["pattern"]
    assert re.match(amount, "12.50") and not re.match(amount, "-1") and not re.match(amount, "0")
    received = payment["properties"]["received_on"]["pattern"]
    assert not re.match(received, "9999-12-31") and not re.match(received, "0001-01-01")
    bulk = components["BulkIn"]
    assert bulk["additionalProperties"] is False
    assert _ref(schema, bulk["properties"]["entries"]["items"])["additionalProperties"] is False
    since = next(
        p for p in schema["paths"]["/api/v1/jobs/"]["get"]["parameters"]
        if p["name"] == "updated_since"
    )  # fmt: skip
    assert re.match(since["schema"]["pattern"], "2026-01-01T00:00:00Z")
    assert not re.match(since["schema"]["pattern"], "9999-01-01T00:00:00Z")
