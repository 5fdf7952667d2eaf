"""The schema tells the truth: the errors every operation can answer, and what bodies refuse.

A drf-spectacular postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``), so
no view has to repeat it:

* every operation documents the 4xx it can return, each with the one error shape
  ``{"error": {"code", "message", "fields"}}``: 400 (validation, a field named), 401, 403,
  404, 406 (an ``Accept`` we cannot serve), 429 (throttled); with a body also 413 and 415;
  POST also 409 (a conflict, or the same Idempotency-Key still running) and 422 (the
  Idempotency-Key reused for another request); PATCH/PUT/DELETE 409 and 412;
* request bodies refuse unknown fields (``additionalProperties: false``), as the strict
  serializers (``psa.kernel.api_fields``) do;
* every POST declares the ``Idempotency-Key`` header (``psa.kernel.middleware``).

The kernel's AutoSchema adds what a generated client needs: every field of a response is
required (a serializer always sends it; ``nullable`` says when it may be null), an uploaded
file is ``format: binary``, and each operation names the token scopes it accepts
(``x-scopes``, from the view's ``api_scopes`` or ``api_area``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from rest_framework import serializers

METHODS = ("get", "post", "put", "patch", "delete")
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMAS = {
    "ErrorBody": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "Stable, machine-readable."},
            "message": {"type": "string", "description": "For people; may change."},
            "fields": {
                "type": "object",
                "description": "Messages per input field (``lines[1].account``).",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
        "required": ["code", "message", "fields"],
    },
    "Error": {
        "type": "object",
        "description": 'The one error shape: `{"error": {"code", "message", "fields"}}`.',
        "properties": {"error": {"$ref": "#/components/schemas/ErrorBody"}},
        "required": ["error"],
    },
}
# What psa.kernel.api_auth.Pagination accepts.
PAGING = {"page": {"minimum": 1}, "page_size": {"minimum": 1, "maximum": 500}}
DESCRIPTIONS = {
    "400": "The input is invalid; `fields` names each offending field.",
    "401": "No valid credentials: an API token or a session.",
    "403": "Your role or the token's scopes do not allow this.",
    "404": "Not found, or not visible to you.",
    "406": "The `Accept` header names no format this operation serves.",
    "409": "The object's state does not allow this now, or a request with the same "
    "Idempotency-Key is still running (retry after `Retry-After`).",
    "412": "`If-Match` does not name the current version.",
    "413": "The request body is too large.",
    "415": "The request body's content type is not accepted.",
    "422": "This Idempotency-Key was used for a different request.",
    "429": "Too many requests; retry later.",
}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string of at most 255 characters (a UUID): a retry with the "
    "same key and body answers the first response again for 24 hours instead of repeating "
    "the write; the same key with another body is a 422.",
    "schema": {"type": "string", "maxLength": 255},
}


def _codes(method: str, op: dict[str, Any]) -> set[str]:
    codes = {"400", "401", "403", "404", "406", "429"}
    if "requestBody" in op:
        codes |= {"413", "415"}
    if method == "post":
        codes |= {"409", "413", "415", "422"}
    if method in ("put", "patch", "delete"):
        codes |= {"409", "412"}
    return codes


def _error_response(code: str) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": ERROR_REF}},
    }


def _closed(schemas: dict[str, Any], ref: str, seen: set[str]) -> None:
    """``additionalProperties: false`` on a request component and the objects it nests."""
    name = ref.rsplit("/", 1)[-1]
    if name in seen or name not in schemas:
        return
    seen.add(name)
    _close_schema(schemas, schemas[name], seen)


def _close_schema(schemas: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> None:
    if "$ref" in schema:
        _closed(schemas, schema["$ref"], seen)
        return
    if schema.get("type") == "object" and "properties" in schema:
        schema.setdefault("additionalProperties", False)
        for prop in schema["properties"].values():
            _close_schema(schemas, prop, seen)
    if isinstance(schema.get("items"), dict):
        _close_schema(schemas, schema["items"], seen)
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(key, []):
            _close_schema(schemas, sub, seen)


def _state_query_rules(param: dict[str, Any]) -> None:
    """Paging limits, and no empty values: psa.kernel.middleware refuses ``?name=``."""
    schema = param.get("schema", {})
    schema.update(PAGING.get(param["name"], {}))
    if param.get("in") != "query":
        return
    if schema.get("type") == "string":
        schema.setdefault("minLength", 1)
        schema.setdefault("pattern", r"\S")
    elif schema.get("type") == "array":
        schema.setdefault("minItems", 1)


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: Any) -> dict:
    """The postprocessing hook: error responses on every operation, closed request bodies."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(ERROR_SCHEMAS)
    closed: set[str] = set()
    for item in result.get("paths", {}).values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            responses = op.setdefault("responses", {})
            for code in sorted(_codes(method, op)):
                if str(code) not in responses:
                    responses[str(code)] = _error_response(code)
            for media in op.get("requestBody", {}).get("content", {}).values():
                _close_schema(schemas, media.get("schema", {}), closed)
            if method == "post":
                params = op.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in params):
                    params.append(dict(IDEMPOTENCY_KEY))
            for param in op.get("parameters", []):
                _state_query_rules(param)
    return result


def scopes_of(view: Any, method: str) -> list[str]:
    """The token scopes that allow ``method`` on ``view`` (as ``token_scope_allows`` decides)."""
    accepted = getattr(view, "api_scopes", None)
    if accepted:
        return sorted(accepted)
    area = getattr(view, "api_area", None)
    if area is None:
        return []
    if method.upper() in ("GET", "HEAD", "OPTIONS"):
        return [f"{area}:read", f"{area}:write"]
    return [f"{area}:write"]


class AutoSchema(openapi.AutoSchema):
    """The kernel's schema class (REST_FRAMEWORK ``DEFAULT_SCHEMA_CLASS``): request fields
    state what the serializers enforce. A required text may not be blank (``minLength: 1``
    and a non-space character: DRF trims whitespace); a decimal string matches what DRF
    parses, without a sign when the field has no negative values."""

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation is not None:
            operation["x-scopes"] = scopes_of(self.view, self.method)
        return operation

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> Any:
        """A response states every field as required: the serializer always sends it."""
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response" and schema.get("properties"):
            schema["required"] = sorted(schema["properties"])
        return schema

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or not isinstance(schema, dict):
            return schema
        if isinstance(field, serializers.FileField):
            # Uploaded as a multipart part, not a URL: a generated client sends a file.
            schema.update(format="binary")
            schema.pop("nullable", None)
        elif isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
            schema["pattern"] = _decimal_pattern(field)
        elif (
            type(field) in (serializers.CharField, serializers.RegexField)
            and not field.allow_blank
            and schema.get("type") == "string"
        ):
            schema.setdefault("minLength", 1)
            if getattr(field, "trim_whitespace", False) and "pattern" not in schema:
                schema["pattern"] = r"\S"
        return schema


def _decimal_pattern(field: Any) -> str:
    """What DRF parses for this DecimalField: at most its digits, no sign where negatives are
    refused, and a non-zero digit where the minimum is above zero."""
    whole = field.max_whole_digits if field.max_whole_digits is not None else 20
    places = field.decimal_places if field.decimal_places is not None else 10
    low = field.min_value
    if low is not None and low > 0 and whole > 0 and places > 0:
        tiny = "|".join(rf"0{{{k}}}[1-9]\d{{0,{places - 1 - k}}}" for k in range(places))
        return rf"^0*([1-9]\d{{0,{whole - 1}}}(\.\d{{0,{places}}})?|\.({tiny}))$"
    sign = "" if low is not None and low >= 0 else "-?"
    if whole == 0:
        return rf"^{sign}0?\.\d{{1,{places}}}$"
    if places == 0:
        return rf"^{sign}\d{{1,{whole}}}$"
    return rf"^{sign}(\d{{1,{whole}}}(\.\d{{0,{places}}})?|\.\d{{1,{places}}})$"
