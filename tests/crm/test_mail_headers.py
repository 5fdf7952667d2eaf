"""A lead whose name or company carries CR/LF still reaches its owner: header values are put
on one line before e-mail (Django refuses CR/LF in headers with BadHeaderError)."""

import pytest
from django.core import mail

from crm.tasks import lead_notify_owner
from psa.kernel.headers import header_safe
from tests.crm.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_a_lead_name_with_cr_lf_is_still_notified(project_manager):
    lead = LeadFactory(
        name="Ann\r\nBcc: everyone@example.test", company="Evil\nCorp", owner=project_manager
    )
    lead_notify_owner(lead.pk)
    (message,) = mail.outbox
    assert message.to == [project_manager.email]
    assert message.subject == "New lead: Ann Bcc: everyone@example.test (Evil Corp)"
    assert "\n" not in message.message()["Subject"]
    assert message.bcc == []


def test_header_safe_puts_any_control_characters_on_one_line():
    assert header_safe("a\r\n\tb\x00c\u2028d  ") == "a b c d"
    assert header_safe("x" * 300) == "x" * 200
