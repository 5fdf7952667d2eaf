"""The public web-to-lead form: validation, spam defences, duplicates, form keys, notification."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from crm.models import Lead, LeadSource, LeadStatus
from crm.services import company_domain, lead_create
from psa.kernel.models import AuditEvent
from tests.crm.factories import (
    ContactFactory,
    CustomerFactory,
    LeadFactory,
    LeadFormKeyFactory,
)

pytestmark = pytest.mark.django_db

URL = "/leads/new/"


@pytest.fixture
def default_key(project_manager):
    return LeadFormKeyFactory(owner=project_manager, is_default=True, allowed_origins=[])


def _data(**over):
    data = {
        "name": "Priya Shah",
        "email": "priya@orbitalfoods.example",
        "company": "Orbital Foods",
        "phone": "+44 20 7946 0000",
        "website": "www.orbitalfoods.example",
        "message": "We want a data platform assessment in Q1.",
        "nickname": "",
    }
    data.update(over)
    return data


def test_the_form_page_shows_the_fields_and_no_frame_for_other_sites(client, default_key):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Your name", "E-mail", "Company", "How can we help?"):
        assert label in html
    assert 'name="csrfmiddlewaretoken"' in html
    # Our own page without a key is not embeddable.
    assert response["X-Frame-Options"] == "DENY"


def test_a_valid_enquiry_creates_a_lead_and_thanks_the_visitor(
    client, default_key, run_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, _data())
    assert response.status_code == 302
    assert response["Location"] == "/leads/thanks/"
    lead = Lead.objects.get()
    assert (lead.name, lead.company, lead.email) == (
        "Priya Shah",
        "Orbital Foods",
        "priya@orbitalfoods.example",
    )
    assert lead.status == LeadStatus.NEW
    assert lead.source == LeadSource.WEB_FORM
    assert lead.domain == "orbitalfoods.example"
    assert lead.owner == default_key.owner
    assert lead.legal_entity == default_key.legal_entity
    assert AuditEvent.objects.filter(action="lead.create", object_id=str(lead.pk)).exists()
    thanks = client.get(response["Location"])
    assert "we got your message" in thanks.content.decode()


def test_the_owner_is_emailed_after_commit(
    client, default_key, run_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(URL, _data())
        assert mail.outbox == []  # nothing sent while the transaction was open
    for callback in callbacks:
        callback()
    lead = Lead.objects.get()
    assert run_tasks == [(lead.pk, "new")]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [default_key.owner.email]
    assert "Priya Shah" in message.subject
    assert "We want a data platform assessment" in message.body
    assert f"/crm/leads/{lead.pk}/" in message.body


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", "", "Please tell us your name."),
        ("email", "", "Please give an e-mail address"),
        ("email", "priya-at-orbital", "does not look like an e-mail address"),
        ("phone", "call me maybe", "Use digits, spaces"),
        ("website", "not a website", "Give the address of your website"),
        ("message", "", "Please tell us briefly what you need."),
        ("message", "x" * 5001, "at most 5000 characters"),
    ],
)
def test_each_invalid_field_is_named_with_a_clear_message(
    client, default_key, field, value, expected
):
    response = client.post(URL, _data(**{field: value}))
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert expected in " ".join(form.errors[field])
    assert expected.split("(")[0] in response.content.decode().replace("&#x27;", "'")
    assert Lead.objects.count() == 0


def test_a_filled_honeypot_is_thanked_but_stores_nothing(client, default_key, run_tasks):
    response = client.post(URL, _data(nickname="buy cheap watches"))
    assert response.status_code == 302
    assert response["Location"] == "/leads/thanks/"
    assert Lead.objects.count() == 0
    assert mail.outbox == []


def test_more_than_five_posts_from_one_address_get_429(client, default_key):
    for n in range(5):
        response = client.post(URL, _data(email=f"p{n}@orbitalfoods.example"))
        assert response.status_code == 302
    response = client.post(URL, _data(email="p6@orbitalfoods.example"))
    assert response.status_code == 429
    assert "Too many enquiries" in response.content.decode()
    assert Lead.objects.count() == 5
    # Another address is not affected.
    other = client.post(URL, _data(email="x@orbitalfoods.example"), REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302


def test_our_own_page_without_a_key_needs_the_csrf_token(default_key):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(URL, _data()).status_code == 403
    assert Lead.objects.count() == 0
    strict.get(URL)
    token = strict.cookies["csrftoken"].value
    response = strict.post(URL, {**_data(), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Lead.objects.count() == 1


def test_no_form_configured_is_a_404(client):
    assert client.get(URL).status_code == 404


# --- duplicates ---------------------------------------------------------------------------


def test_the_same_email_attaches_to_the_open_lead(client, default_key):
    first = LeadFactory(
        legal_entity=default_key.legal_entity, email="Priya@OrbitalFoods.example", phone=""
    )
    response = client.post(URL, _data(message="Second note: budget approved."))
    assert response.status_code == 302
    assert Lead.objects.count() == 1
    first.refresh_from_db()
    assert first.submissions == 2
    assert "Second note: budget approved." in first.message
    assert first.phone == "+44 20 7946 0000"  # missing details are filled in
    assert AuditEvent.objects.filter(action="lead.repeat", object_id=str(first.pk)).exists()


def test_the_email_of_a_customers_contact_links_the_new_lead_to_that_customer(default_key):
    customer = CustomerFactory(legal_entity=default_key.legal_entity)
    contact = ContactFactory(customer=customer, email="priya@orbitalfoods.example")
    intake = lead_create(
        legal_entity=default_key.legal_entity,
        name="Priya Shah",
        email="PRIYA@orbitalfoods.example",
        source=LeadSource.API,
        message="Another project",
    )
    assert intake.created and intake.matched == "contact"
    assert (intake.lead.customer, intake.lead.contact) == (customer, contact)


def test_a_colleague_at_a_known_company_attaches_to_that_customer_by_domain(client, default_key):
    customer = CustomerFactory(
        legal_entity=default_key.legal_entity, billing_email="ap@orbitalfoods.example"
    )
    response = client.post(URL, _data(email="tom@orbitalfoods.example", name="Tom"))
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert lead.customer == customer
    assert lead.contact is None
    # Converting it uses the existing customer instead of creating a twin.


def test_a_contacts_domain_also_matches(default_key):
    customer = CustomerFactory(legal_entity=default_key.legal_entity, billing_email="")
    ContactFactory(customer=customer, email="cfo@vega.example")
    intake = lead_create(
        legal_entity=default_key.legal_entity,
        name="New person",
        email="new@vega.example",
        source=LeadSource.MANUAL,
    )
    assert intake.matched == "domain"
    assert intake.lead.customer == customer


def test_free_mail_domains_never_match_a_customer(default_key):
    CustomerFactory(legal_entity=default_key.legal_entity, billing_email="someone@gmail.com")
    intake = lead_create(
        legal_entity=default_key.legal_entity,
        name="Jo",
        email="jo@gmail.com",
        source=LeadSource.WEB_FORM,
    )
    assert intake.matched == ""
    assert intake.lead.customer is None
    assert intake.lead.domain == ""


def test_company_domain_prefers_the_email_then_the_website():
    assert company_domain(email="a@Acme.example", website="") == "acme.example"
    assert company_domain(email="a@gmail.com", website="https://www.acme.example/x") == (
        "acme.example"
    )
    assert company_domain(email="a@gmail.com", website="") == ""


def test_a_customer_of_another_legal_entity_does_not_match(default_key):
    CustomerFactory(billing_email="ap@orbitalfoods.example")  # billed by another entity
    intake = lead_create(
        legal_entity=default_key.legal_entity,
        name="Priya",
        email="priya@orbitalfoods.example",
        source=LeadSource.WEB_FORM,
    )
    assert intake.lead.customer is None


# --- cross-site form POST with a key ------------------------------------------------------


@pytest.fixture
def site_key(project_manager):
    return LeadFormKeyFactory(owner=project_manager, allowed_origins=["https://www.firm.example"])


def test_a_cross_site_post_with_a_valid_key_is_accepted_without_csrf(site_key):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        URL, {**_data(), "form_key": site_key.key}, HTTP_ORIGIN="https://www.firm.example"
    )
    assert response.status_code == 302
    assert response["Location"] == f"/leads/thanks/?key={site_key.key}"
    lead = Lead.objects.get()
    assert lead.legal_entity == site_key.legal_entity
    assert lead.owner == site_key.owner


def test_an_unknown_or_inactive_key_is_refused(site_key):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(URL, {**_data(), "form_key": "x" * 43})
    assert response.status_code == 403
    site_key.is_active = False
    site_key.save()
    response = browser.post(URL, {**_data(), "form_key": site_key.key})
    assert response.status_code == 403
    assert Lead.objects.count() == 0


def test_a_valid_key_from_a_website_it_does_not_allow_is_refused(site_key):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        URL, {**_data(), "form_key": site_key.key}, HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 403
    assert "may not send this form" in response.content.decode()
    assert Lead.objects.count() == 0


def test_the_keyed_form_may_be_framed_only_by_its_websites(client, site_key):
    response = client.get(URL, {"key": site_key.key})
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    csp = [d.strip() for d in response["Content-Security-Policy"].split(";")]
    assert "frame-ancestors 'self' https://www.firm.example" in csp
    html = response.content.decode()
    assert f'name="form_key" value="{site_key.key}"' in html


def test_lead_form_key_service_makes_a_long_random_key(project_manager, default_key):
    from crm.services import lead_form_key_create
    from psa.kernel import errors

    key = lead_form_key_create(
        legal_entity=default_key.legal_entity,
        name="Website",
        owner=project_manager,
        allowed_origins=["https://www.acme.example/"],
    )
    assert len(key.key) >= 43  # 256 bits in base64url
    assert key.allowed_origins == ["https://www.acme.example"]
    with pytest.raises(errors.ValidationFailed) as exc:
        lead_form_key_create(
            legal_entity=default_key.legal_entity,
            name="Bad",
            owner=project_manager,
            allowed_origins=["www.acme.example"],
        )
    assert "allowed_origins" in exc.value.fields


def test_a_keyed_post_without_origin_is_a_server_relay_and_accepted(site_key):
    response = Client(enforce_csrf_checks=True).post(URL, {**_data(), "form_key": site_key.key})
    assert response.status_code == 302
    assert Lead.objects.count() == 1


def test_a_keyed_post_whose_referer_is_another_site_is_refused(site_key):
    response = Client(enforce_csrf_checks=True).post(
        URL, {**_data(), "form_key": site_key.key}, HTTP_REFERER="https://evil.example/page"
    )
    assert response.status_code == 403
    assert Lead.objects.count() == 0


def test_the_keyed_thank_you_page_may_be_framed_by_the_site(client, site_key):
    response = client.get("/leads/thanks/", {"key": site_key.key})
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert "https://www.firm.example" in response["Content-Security-Policy"]
