"""One error shape everywhere: {"error": {"code", "message", "fields"}} with a 4xx status."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework import serializers
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from psa.kernel import errors
from psa.kernel.middleware import DomainErrorMiddleware


class _Input(serializers.Serializer):
    hours = serializers.DecimalField(max_digits=4, decimal_places=2, max_value=24)


class _View(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def post(self, request):
        if request.data.get("conflict"):
            raise errors.Conflict("The week is already approved.", code="illegal_transition")
        _Input(data=request.data).is_valid(raise_exception=True)
        return HttpResponse(status=204)


def test_api_validation_error_names_the_field():
    request = APIRequestFactory().post("/api/x", {"hours": "25"}, format="json")
    response = _View.as_view()(request)
    assert response.status_code == 400
    body = response.data["error"]
    assert body["code"] == "validation_failed"
    assert "hours" in body["fields"]
    assert body["message"].startswith("hours:")


def test_api_domain_error_keeps_its_status_and_code():
    request = APIRequestFactory().post("/api/x", {"conflict": True}, format="json")
    response = _View.as_view()(request)
    assert response.status_code == 409
    assert response.data == {
        "error": {
            "code": "illegal_transition",
            "message": "The week is already approved.",
            "fields": {},
        }
    }


@pytest.mark.django_db
def test_page_domain_error_renders_a_4xx_page_with_the_message(consultant):
    request = RequestFactory().get("/time/")
    request.user = consultant
    request.htmx = False
    exc = errors.ValidationFailed("Hours must be at most 24.", fields={"hours": "Too many."})
    response = DomainErrorMiddleware(lambda r: HttpResponse()).process_exception(request, exc)
    assert response.status_code == 400
    assert b"Hours must be at most 24." in response.content
    assert b"Too many." in response.content


def test_page_domain_error_for_json_clients_is_json():
    request = RequestFactory().get("/api/v1/x", HTTP_ACCEPT="application/json")
    exc = errors.NotFound("No such invoice.")
    response = DomainErrorMiddleware(lambda r: HttpResponse()).process_exception(request, exc)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_other_exceptions_are_left_alone():
    request = RequestFactory().get("/")
    assert (
        DomainErrorMiddleware(lambda r: HttpResponse()).process_exception(
            request, ValueError("bug")
        )
        is None
    )
