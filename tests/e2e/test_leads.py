"""A visitor sends the public enquiry form; a manager qualifies the lead in the pipeline."""

import pytest

from crm.models import Lead, LeadStatus
from tests.conftest import PASSWORD
from tests.crm.factories import LeadFormKeyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_visitor_enquires_and_manager_qualifies_the_lead(page, screenshot, project_manager):
    LeadFormKeyFactory(owner=project_manager, is_default=True, allowed_origins=[])

    # A visitor, not signed in, finds the form.
    page.goto("/leads/new/")
    assert page.get_by_role("heading", name="Tell us about your project").is_visible()
    page.get_by_label("Your name").fill("Priya Shah")
    page.get_by_label("E-mail").fill("priya-at-orbital")  # a typo first
    page.get_by_label("Company", exact=True).fill("Orbital Foods")
    page.get_by_label("How can we help?").fill("We need a data platform assessment in Q1.")
    page.get_by_role("button", name="Send").click()
    assert "does not look like an e-mail address" in page.locator(".field-error").inner_text()
    screenshot(page, "form-error")
    page.get_by_label("E-mail").fill("priya@orbitalfoods.example")
    screenshot(page, "form-filled")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/leads/thanks/")
    assert page.get_by_role("heading", name="Thank you — we got your message").is_visible()
    screenshot(page, "thanks")

    # The manager signs in and opens the pipeline.
    page.goto("/accounts/login/?next=/crm/leads/")
    page.get_by_label("E-mail address").fill(project_manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/crm/leads/")
    new_column = page.get_by_role("region", name="New")
    card = new_column.get_by_role("article", name="Priya Shah")
    assert "Orbital Foods" in card.inner_text()
    screenshot(page, "pipeline")

    card.get_by_role("button", name="Qualify").click()
    # htmx swaps the board: the card now sits in the Qualified column, no full reload.
    qualified = page.get_by_role("region", name="Qualified")
    qualified.get_by_role("article", name="Priya Shah").wait_for()
    assert new_column.get_by_role("article", name="Priya Shah").count() == 0
    screenshot(page, "qualified")
    assert Lead.objects.get().status == LeadStatus.QUALIFIED

    # The lead's page shows the enquiry and its history.
    qualified.get_by_role("link", name="Priya Shah").click()
    page.wait_for_url("**/crm/leads/*/")
    assert "We need a data platform assessment in Q1." in page.inner_text("main")
    assert "lead.qualify" in page.get_by_role("region", name="History").inner_text()
    screenshot(page, "lead-detail")


def test_manager_wins_an_opportunity_and_gets_customer_and_project(
    page, screenshot, project_manager
):
    from crm.models import OpportunityStage
    from crm.services import opportunity_create
    from projects.models import TemplateMilestone, TemplateTask
    from tests.crm.factories import LeadFactory
    from tests.projects.factories import ProjectTemplateFactory

    template = ProjectTemplateFactory(name="Discovery (fixed price)", billing_model="fixed_price")
    TemplateTask.objects.create(template=template, name="Workshops")
    TemplateMilestone.objects.create(
        template=template, name="Kick-off", amount="2000", day_offset=0
    )
    lead = LeadFactory(company="Helios Solar", name="Marco Bianchi", status=LeadStatus.QUALIFIED)
    opp = opportunity_create(
        actor=project_manager, lead=lead, name="Helios discovery", value="48000", probability=70
    )

    page.goto(f"/accounts/login/?next=/crm/opportunities/{opp.pk}/")
    page.get_by_label("E-mail address").fill(project_manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/crm/opportunities/{opp.pk}/")
    win = page.get_by_role("region", name="Mark won")
    win.get_by_label("Project template").select_option(label="Discovery (fixed price)")
    win.get_by_label("Project code").fill("helios-disc")
    screenshot(page, "win-form")
    win.get_by_role("button", name="Mark won and create the project").click()
    page.get_by_text("HELIOS-DISC").wait_for()
    assert "Won" in page.get_by_role("heading", level=1).inner_text()
    screenshot(page, "won")

    page.get_by_role("link", name="Helios Solar").click()
    page.wait_for_url("**/crm/customers/*/")
    projects = page.get_by_role("region", name="Projects")
    assert "HELIOS-DISC" in projects.inner_text()
    assert "Marco Bianchi" in page.get_by_role("region", name="Contacts").inner_text()
    screenshot(page, "customer")
    opp.refresh_from_db()
    assert opp.stage == OpportunityStage.WON


@pytest.fixture
def firm_website(tmp_path):
    """The firm's own website on another origin, serving one page that frames our form."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_form_embedded_on_the_firms_website_works(
    page, screenshot, live_server, project_manager, firm_website
):
    folder, origin = firm_website
    key = LeadFormKeyFactory(owner=project_manager, allowed_origins=[origin])
    (folder / "contact.html").write_text(
        "<!doctype html><title>Acme · Contact</title><h1>Contact Acme</h1>"
        f'<iframe title="Enquiry form" src="{live_server.url}/leads/new/?key={key.key}"'
        ' width="640" height="900" style="border:0"></iframe>'
    )
    page.goto(f"{origin}/contact.html")
    form = page.frame_locator("iframe[title='Enquiry form']")
    form.get_by_label("Your name").fill("Priya Shah")
    form.get_by_label("E-mail").fill("priya@orbitalfoods.example")
    form.get_by_label("How can we help?").fill("Found you on your website.")
    form.get_by_role("button", name="Send").click()
    form.get_by_role("heading", name="Thank you — we got your message").wait_for()
    screenshot(page, "embedded-thanks")
    lead = Lead.objects.get()
    assert (lead.legal_entity, lead.owner) == (key.legal_entity, project_manager)
