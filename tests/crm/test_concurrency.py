"""Two identical web-form posts at the same moment make one lead, not twins.

Real threads with their own database connections. The control removes the per-e-mail lock
and shows the race happens: both threads see no open lead and both insert.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from crm.models import Lead, LeadSource
from crm.services import leads as services
from tests.ledger.factories import LegalEntityFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _submit_twice_at_once(entity) -> list[BaseException]:
    failures: list[BaseException] = []

    def submit(n: int) -> None:
        try:
            services.lead_create(
                legal_entity=entity,
                name="Priya Shah",
                email="priya@orbital.example",
                source=LeadSource.WEB_FORM,
                message=f"Submission {n}",
            )
        except BaseException as exc:  # reported to the test below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return failures


def test_simultaneous_submissions_make_one_lead(monkeypatch):
    entity = LegalEntityFactory()
    barrier = threading.Barrier(2, timeout=10)
    original = services._serialise_per_email

    def arrive_together(*args):
        barrier.wait()  # both threads are inside their transactions before either locks
        original(*args)

    monkeypatch.setattr(services, "_serialise_per_email", arrive_together)
    assert _submit_twice_at_once(entity) == []
    lead = Lead.objects.get()
    assert lead.submissions == 2
    assert "Submission 1" in lead.message and "Submission 2" in lead.message


def test_control_without_the_lock_the_race_makes_twins(monkeypatch):
    entity = LegalEntityFactory()
    barrier = threading.Barrier(2, timeout=10)
    original = services._open_lead_with_email

    def look_then_wait(*args):
        found = original(*args)
        barrier.wait()  # both have looked (and found nothing) before either inserts
        return found

    monkeypatch.setattr(services, "_serialise_per_email", lambda *args: None)
    monkeypatch.setattr(services, "_open_lead_with_email", look_then_wait)
    assert _submit_twice_at_once(entity) == []
    assert Lead.objects.count() == 2
