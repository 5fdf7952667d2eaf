"""Tasks of the crm app (see STYLE.md: thin Celery tasks that call services)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from crm.models import Lead
from psa.kernel.headers import header_safe


@shared_task(name="crm.tasks.lead_notify_owner", ignore_result=True, max_retries=5)
def lead_notify_owner(lead_id: int, event: str = "new") -> None:
    """E-mail the lead's owner. Sent after the lead's transaction committed, outside it."""
    lead = Lead.objects.select_related("owner", "customer").filter(pk=lead_id).first()
    if lead is None or lead.owner is None or not lead.owner.email:
        return
    context = {
        "lead": lead,
        "event": event,
        "url": settings.PUBLIC_BASE_URL + reverse("crm:lead_detail", args=[lead.pk]),
    }
    subject = ("Repeat enquiry" if event == "repeat" else "New lead") + f": {lead}"
    send_mail(
        subject=header_safe(subject, limit=150),
        message=render_to_string("crm/email/lead_notification.txt", context),
        from_email=None,
        recipient_list=[lead.owner.email],
    )
