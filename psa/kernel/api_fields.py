"""The API's input rules, once: strict serializers, dates within the policy, ordering.

Every app's API builds on these (re-exported by ``psa.kernel.api``):

* ``Serializer`` / ``ModelSerializer`` refuse fields they do not know with a 400 naming them
  (a misspelt ``is_actve`` must not be a silent 200 that changed nothing). ``QuerySerializer``
  is the lenient twin for query strings, where ``page``, ``format`` and filters live alongside.
* ``DateField`` / ``DateTimeField`` and the filters ``DateFilter`` / ``DateTimeFilter`` apply
  ``psa.kernel.dates`` and state the range in the schema (``pattern`` on the year).
* ``OrderingGuard`` (a filter backend on every list) refuses ``ordering`` where a list has a
  fixed order and refuses the parameter given twice: it is never silently ignored or truncated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from django.db import models
from django.http import QueryDict
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.filters import BaseFilterBackend

from psa.kernel import dates, errors

# --- dates ---------------------------------------------------------------------------------


class DateField(serializers.DateField):
    """An ISO date within the date policy; ``operational=True`` for dates of real work and
    money (time, expenses, payments received): ten years back to the end of next year."""

    default_error_messages = {"out_of_range": "{problem}"}

    def __init__(self, *args: Any, operational: bool = False, **kwargs: Any) -> None:
        self.operational = operational
        super().__init__(*args, **kwargs)

    def to_internal_value(self, value: Any) -> dt.date:
        if isinstance(value, str) and "\x00" in value:
            self.fail("invalid", format="YYYY-MM-DD")
        day = super().to_internal_value(value)
        problem = dates.date_problem(day, operational=self.operational)
        if problem:
            self.fail("out_of_range", problem=problem)
        return day


class DateTimeField(serializers.DateTimeField):
    """An ISO date-time within the date policy, returned in UTC."""

    default_error_messages = {"out_of_range": "{problem}"}

    def to_internal_value(self, value: Any) -> dt.datetime:
        instant = super().to_internal_value(value)
        problem = dates.datetime_problem(instant)
        if problem:
            self.fail("out_of_range", problem=problem)
        return dates.datetime_to_utc(instant)


class DateFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "psa.kernel.api_fields.DateField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = {"type": "string", "format": "date"}
        if direction == "request":
            schema["pattern"] = dates.year_pattern(operational=self.target.operational)
        return schema


class DateTimeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "psa.kernel.api_fields.DateTimeField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = {"type": "string", "format": "date-time"}
        if direction == "request":
            schema["pattern"] = dates.year_pattern()
        return schema


class _FormDateField(forms.DateField):
    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value is not None:
            problem = dates.date_problem(value)
            if problem:
                raise forms.ValidationError(problem, code="invalid")
        return value


class _FormDateTimeField(django_filters.fields.IsoDateTimeField):
    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value is not None:
            problem = dates.datetime_problem(value)
            if problem:
                raise forms.ValidationError(problem, code="invalid")
            value = dates.datetime_to_utc(value)
        return value


@extend_schema_field({"type": "string", "format": "date", "pattern": dates.year_pattern()})
class DateFilter(django_filters.DateFilter):
    """A date query parameter within the date policy (400 naming it otherwise)."""

    field_class = _FormDateField


@extend_schema_field({"type": "string", "format": "date-time", "pattern": dates.year_pattern()})
class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO date-time query parameter within the policy, queried in UTC. Converted when the
    form is cleaned, so a filter with a ``method`` gets it in UTC too."""

    field_class = _FormDateTimeField


class _StrictBooleanField(forms.Field):
    """``true`` or ``false`` (as the schema's boolean): anything else is a 400, never ignored."""

    def clean(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise forms.ValidationError("Use true or false.", code="invalid")
        return text == "true"


class BooleanFilter(django_filters.BooleanFilter):
    field_class = _StrictBooleanField


class FilterSet(django_filters.FilterSet):
    """Base of every FilterSet: date, date-time and boolean columns named in ``Meta.fields``
    filter through the kernel's strict filters."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.DateField: {"filter_class": DateFilter},
        models.DateTimeField: {"filter_class": DateTimeFilter},
        models.BooleanField: {"filter_class": BooleanFilter},
    }


# --- strict serializers --------------------------------------------------------------------


# No docstrings on these bases: drf-spectacular would show them as every schema's description.


NOT_BLANK = (
    serializers.DecimalField,
    serializers.DateField,
    serializers.DateTimeField,
    serializers.RelatedField,
)


def _json_type_ok(field: serializers.Field, value: Any) -> bool:
    """Whether a JSON value has the type the schema states for the field (DRF would coerce
    ``"false"`` to False and ``0`` to ``"0"``, accepting what the schema forbids)."""
    if value is None or isinstance(field, serializers.MultipleChoiceField):
        return True
    if value == "" and isinstance(field, NOT_BLANK):
        return False  # DRF reads "" as null for these; the schema's format/pattern refuses it
    if isinstance(field, serializers.BooleanField):
        return isinstance(value, bool)
    if isinstance(field, serializers.IntegerField | serializers.PrimaryKeyRelatedField):
        return isinstance(value, int) and not isinstance(value, bool)
    text = (
        serializers.CharField,
        serializers.DateField,
        serializers.DateTimeField,
        serializers.DecimalField,
        serializers.SlugRelatedField,
        serializers.ChoiceField,
    )
    if isinstance(field, text):
        return isinstance(value, str)
    return True


# Refuses a field it does not know (and one it only reads) with a 400 naming it; in a JSON
# body, a value of another type than the schema states (a form sends only text).
class StrictMixin:
    fields: dict[str, serializers.Field]

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            problems: dict[str, list[str]] = {}
            is_json = not isinstance(data, QueryDict)
            for name in sorted(map(str, data)):
                field = self.fields.get(name)
                if field is None:
                    problems[name] = ["Unknown field."]
                elif field.read_only:
                    problems[name] = ["Read-only: it cannot be set."]
                elif is_json and not _json_type_ok(field, data[name]):
                    problems[name] = ["Incorrect type."]
            if problems:
                raise serializers.ValidationError(problems)
        return super().to_internal_value(data)  # type: ignore[misc]


# Base of every request body serializer.
class Serializer(StrictMixin, serializers.Serializer):
    pass


# Base of serializers that read a query string: other parameters may sit beside.
class QuerySerializer(serializers.Serializer):
    pass


# A strict ModelSerializer whose date columns follow the date policy.
class ModelSerializer(StrictMixin, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: DateField,
        models.DateTimeField: DateTimeField,
    }


# --- ordering ------------------------------------------------------------------------------


class OrderingGuard(BaseFilterBackend):
    """``ordering`` is a 400 unless the list's FilterSet offers it (which then checks the
    value), and a 400 when given twice: a client must never get a silently different order."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        given = request.query_params.getlist("ordering")
        if not given:
            return queryset
        if len(given) > 1:
            raise errors.ValidationFailed(
                "ordering: give it once, keys separated by commas.",
                fields={"ordering": "Given more than once; use ordering=a,-b."},
            )
        filterset = getattr(view, "filterset_class", None)
        if filterset is None or "ordering" not in filterset.base_filters:
            raise errors.ValidationFailed(
                "ordering: this list has a fixed order.",
                fields={"ordering": "Not supported on this list."},
            )
        return queryset
