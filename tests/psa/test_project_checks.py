"""Project-wide checks: migrations match the models, templates filters behave."""

from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from psa.celery import CORRELATION_HEADER, _add_correlation_header, _adopt_correlation_id
from psa.kernel import correlation
from psa.kernel.templatetags.psa import hours, money


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:
        pytest.fail(f"Models changed without a migration:\n{out.getvalue()}")


@pytest.mark.parametrize(
    ("value", "shown"),
    [(Decimal("7.50"), "7.5"), (Decimal("8.00"), "8"), (0, "0"), (None, "—"), ("0.25", "0.25")],
)
def test_hours_filter(value, shown):
    assert hours(value) == shown


def test_money_filter_rounds_like_the_books():
    assert money(Decimal("1234.565"), "EUR") == "1,234.57 EUR"
    assert money(Decimal("1500.4"), "JPY") == "1,500 JPY"


def test_correlation_id_travels_from_the_publisher_to_the_task():
    token = correlation.set_id("req-42")
    try:
        headers: dict = {}
        _add_correlation_header(headers=headers)
    finally:
        correlation.reset(token)
    assert headers[CORRELATION_HEADER] == "req-42"

    task = SimpleNamespace(request=SimpleNamespace(correlation_id="req-42"))
    _adopt_correlation_id(task=task)
    assert correlation.get() == "req-42"
    correlation.reset(task.request._psa_correlation_token)
    assert correlation.get() == ""
