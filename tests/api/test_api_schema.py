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


# Internal docstrings that once were the operations' descriptions.
INTERNAL = ("locked(", "FOR UPDATE", "ETagDetailView", "The one detail view", "If-Match header "
            "handed", "Base of the lead transitions", "``")  # fmt: skip


def _operations(schema):
    return [(p, m, o) for p, item in schema["paths"].items() for m, o in item.items()
            if m in METHODS]  # fmt: skip


def test_every_operation_has_a_summary_a_description_for_integrators_its_scope_and_tags(schema):
    for path, method, op in _operations(schema):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), f"{where} has no summary (psa/api_docs.py)"
        description = op.get("description", "")
        assert "Token scope: `" in description or "sign in" in description, where
        assert not any(word in description for word in INTERNAL), (where, description)
        assert op.get("tags"), where
    bulk = schema["paths"]["/api/v1/time/entries/bulk/"]["post"]["description"]
    assert bulk.endswith("Token scope: `timesheets:write`.")


def test_every_post_declares_the_idempotency_key(schema):
    posts = [(p, o) for p, m, o in _operations(schema) if m == "post"]
    assert len(posts) > 30
    for path, op in posts:
        names = {(p["in"], p["name"]) for p in op.get("parameters", [])}
        assert ("header", "Idempotency-Key") in names, path


def test_json_is_the_one_request_type_but_the_receipt_upload(schema):
    for path, method, op in _operations(schema):
        types = list(op.get("requestBody", {}).get("content", {}))
        if (path, method) == ("/api/v1/time/expenses/", "post"):
            assert types == ["multipart/form-data"]
        elif types:
            assert types == ["application/json"], (path, method, types)
    receipt = schema["components"]["schemas"]["ExpenseCreateIn"]["properties"]["receipt"]
    assert (receipt["type"], receipt["format"]) == ("string", "binary")


def test_responses_match_what_is_sent(schema):
    bulk = schema["paths"]["/api/v1/time/entries/bulk/"]["post"]["responses"]["201"]
    body = bulk["content"]["application/json"]["schema"]
    assert body == {"type": "array", "items": {"$ref": "#/components/schemas/TimeEntry"}}
    components = schema["components"]["schemas"]
    assert {"total", "status", "number"} <= set(components["Invoice"]["required"])
    assert {"status", "task", "note"} <= set(components["TimeEntry"]["required"])
    for name, component in components.items():
        if name.startswith("Paginated") or name.endswith("In") or "properties" not in component:
            continue
        if not any(name == ref.rsplit("/", 1)[-1] for ref in _response_refs(schema)):
            continue
        assert set(component.get("required", [])) == set(component["properties"]), name


def _response_refs(schema):
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            refs.update([node["$ref"]] if "$ref" in node else [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for _, _, op in _operations(schema):
        walk({k: v for k, v in op["responses"].items() if k.startswith("2")})
    return refs


def test_the_filters_the_lists_take_are_declared(schema):
    def names(path):
        return {p["name"] for p in schema["paths"][path]["get"]["parameters"]}

    assert "invoice" in names("/api/v1/payments/")
    assert {"since", "until"} <= names("/api/v1/ledger/{code}/entries/")
