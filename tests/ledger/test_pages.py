"""The books' pages, as finance uses them, and who may open them."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from ledger import rules
from ledger.models import Integration, JournalEntry, OutboxMessage
from ledger.services import journal_post
from tests.ledger.factories import books, manual_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def uk():
    entity = books(code="uk", functional_currency="GBP", name="Acme UK")
    gbp = {"currency": "GBP", "customer_id": None, "project_id": None}

    def post(event, source, date):
        return journal_post(
            legal_entity=entity, event=event, date=date, source_type="t", source_id=source
        )

    post(rules.TimeApproved(amount=D("4500.00"), **gbp), "w1", dt.date(2026, 1, 9))
    part = rules.InvoicePart(kind="time", net=D("4500.00"), tax=D("900.00"), accrued=D("4500.00"))
    post(
        rules.InvoiceIssued(
            parts=(part,), document="invoice:1", due_date=dt.date(2026, 2, 28), **gbp
        ),
        "i1",
        dt.date(2026, 1, 31),
    )
    return entity


PAGES = [
    ("ledger:trial_balance", {}),
    ("ledger:profit_and_loss", {}),
    ("ledger:balance_sheet", {}),
    ("ledger:ar_aging", {}),
    ("ledger:unbilled_wip", {}),
    ("ledger:chart", {}),
    ("ledger:period_close", {}),
    ("ledger:exports", {}),
    ("ledger:integration", {}),
    ("ledger:account_ledger", {"account": "1100"}),
]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_finance_opens_every_books_page(client, finance, uk, name, kwargs):
    client.force_login(finance)
    response = client.get(reverse(name, kwargs={"code": uk.code, **kwargs}))
    assert response.status_code == 200
    assert "Books · Acme UK" in response.content.decode()


@pytest.mark.parametrize("persona", ["consultant", "project_manager", "outsider"])
def test_only_finance_and_admins_see_the_books(client, request, uk, persona):
    client.force_login(request.getfixturevalue(persona))
    for name, kwargs in PAGES:
        response = client.get(reverse(name, kwargs={"code": uk.code, **kwargs}))
        assert response.status_code == 403, name


def test_trial_balance_shows_balanced_totals_as_of_a_date(client, finance, uk):
    client.force_login(finance)
    page = client.get(reverse("ledger:trial_balance", args=[uk.code]), {"as_of": "2026-01-15"})
    html = page.content.decode()
    assert "4,500.00 GBP" in html
    assert "balanced" in html
    assert "5,400.00" not in html  # the invoice came later
    later = client.get(reverse("ledger:trial_balance", args=[uk.code]), {"as_of": "2026-02-01"})
    assert "5,400.00 GBP" in later.content.decode()


def test_a_bad_date_is_a_400_naming_the_field(client, finance, uk):
    client.force_login(finance)
    response = client.get(reverse("ledger:trial_balance", args=[uk.code]), {"as_of": "yesterday"})
    assert response.status_code == 400
    assert "as_of" in response.content.decode()


def test_general_ledger_drills_down_to_the_entry_and_its_source(client, finance, uk):
    client.force_login(finance)
    gl = client.get(
        reverse("ledger:account_ledger", args=[uk.code, "1100"]),
        {"start": "2026-01-01", "end": "2026-12-31"},
    ).content.decode()
    entry = JournalEntry.objects.get(event="invoice.issued")
    assert reverse("ledger:entry_detail", args=[uk.code, entry.pk]) in gl
    detail = client.get(reverse("ledger:entry_detail", args=[uk.code, entry.pk])).content.decode()
    assert "t:i1" in detail
    assert "invoice:1" in detail


def test_ar_aging_puts_the_open_invoice_in_its_bucket(client, finance, uk):
    client.force_login(finance)
    html = client.get(
        reverse("ledger:ar_aging", args=[uk.code]), {"as_of": "2026-04-15"}
    ).content.decode()
    # Due 28 Feb, 46 days late on 15 Apr.
    assert html.count("5,400.00 GBP") >= 2


def test_finance_reverses_an_entry_from_its_page(client, finance, uk):
    client.force_login(finance)
    entry = manual_entry(uk, date=dt.date(2026, 2, 2), amount="100.00", actor=finance)
    response = client.post(
        reverse("ledger:entry_reverse", args=[uk.code, entry.pk]),
        {"date": "2026-03-01", "reason": "Approved on the wrong project"},
    )
    reversal = JournalEntry.objects.get(reverses=entry)
    assert response["Location"] == reverse("ledger:entry_detail", args=[uk.code, reversal.pk])
    assert reversal.memo.endswith("Approved on the wrong project")


def test_reversal_without_a_reason_is_refused(client, finance, uk):
    client.force_login(finance)
    entry = manual_entry(uk, date=dt.date(2026, 2, 2), amount="100.00", actor=finance)
    response = client.post(
        reverse("ledger:entry_reverse", args=[uk.code, entry.pk]), {"reason": " "}
    )
    assert response.status_code == 400
    assert not JournalEntry.objects.filter(reverses=entry).exists()


def test_period_close_page_locks_and_admin_closes_for_good(client, finance, admin_user, uk):
    client.force_login(finance)
    url = reverse("ledger:period_close", args=[uk.code])
    assert client.post(url, {"action": "soft_lock", "through": "2026-01-31"}).status_code == 302
    uk.refresh_from_db()
    assert uk.soft_lock_date == dt.date(2026, 1, 31)
    assert client.post(url, {"action": "hard_lock", "through": "2026-01-31"}).status_code == 403
    client.force_login(admin_user)
    assert client.post(url, {"action": "hard_lock", "through": "2026-01-31"}).status_code == 302
    uk.refresh_from_db()
    assert uk.hard_lock_date == dt.date(2026, 1, 31)


def test_export_downloads_a_file(client, finance, uk):
    client.force_login(finance)
    response = client.get(
        reverse("ledger:exports", args=[uk.code]),
        {"fmt": "beancount", "start": "2026-01-01", "end": "2026-01-31"},
    )
    assert response.status_code == 200
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="uk-2026-01-01-2026-01-31-beancount.beancount"'
    )
    assert b"balance Assets:A1100-Accounts-Receivable  5400.00 GBP" in response.content


def test_finance_remaps_a_role_on_the_accounts_page(client, finance, uk):
    client.force_login(finance)
    alt = uk.accounts.create(code="4010", name="Consulting", type="income")
    response = client.post(
        reverse("ledger:chart", args=[uk.code]), {"role": "revenue_services", "account": alt.pk}
    )
    assert response.status_code == 302
    assert uk.role_mappings.get(role="revenue_services").account == alt


def test_integration_settings_and_retry(client, finance, uk):
    client.force_login(finance)
    url = reverse("ledger:integration", args=[uk.code])
    bad = client.post(
        url, {"mode": "journal_post", "endpoint_url": "ftp://x", "signing_secret": "s"}
    )
    assert bad.status_code == 400
    assert "endpoint_url" in bad.content.decode()
    ok = client.post(
        url,
        {
            "mode": "journal_post",
            "endpoint_url": "http://127.0.0.1:9/j",
            "signing_secret": "x" * 20,
        },
    )
    assert ok.status_code == 302
    assert Integration.objects.get(legal_entity=uk).mode == "journal_post"
    journal_post(
        legal_entity=uk,
        event=rules.TimeApproved(amount=D("1.00"), currency="GBP"),
        date=dt.date(2026, 3, 1), source_type="t", source_id="w9",
    )  # fmt: skip
    message = OutboxMessage.objects.get()
    page = client.get(url).content.decode()
    assert message.idempotency_key in page
    retry = client.post(reverse("ledger:outbox_retry", args=[uk.code, message.pk]))
    assert retry.status_code == 302


def _manual_form(**overrides):
    form = {
        "date": "2026-03-02", "memo": "Owner pays a supplier bill",
        "account": ["6200", "3000", "", ""], "debit": ["120.00", "", "", ""],
        "credit": ["", "120.00", "", ""], "description": ["Bill", "", "", ""],
    }  # fmt: skip
    return form | overrides


def test_finance_posts_a_manual_entry_and_sees_it_in_the_general_ledger(client, finance, uk):
    client.force_login(finance)
    gl_url = reverse("ledger:account_ledger", args=[uk.code, "6200"])
    new_url = reverse("ledger:entry_new", args=[uk.code])
    assert new_url in client.get(gl_url).content.decode()
    assert client.get(new_url).status_code == 200
    response = client.post(new_url, _manual_form())
    entry = JournalEntry.objects.get(source_type="manual")
    assert response["Location"] == reverse("ledger:entry_detail", args=[uk.code, entry.pk])
    gl = client.get(gl_url, {"start": "2026-01-01", "end": "2026-12-31"}).content.decode()
    assert reverse("ledger:entry_detail", args=[uk.code, entry.pk]) in gl
    assert "120.00" in gl
    # Its page offers the reversal (a document's entry would name its own action instead).
    detail = client.get(response["Location"]).content.decode()
    assert "Post the reversing entry" in detail


def test_a_manual_entry_error_shows_beside_its_field_and_keeps_the_input(client, finance, uk):
    client.force_login(finance)
    new_url = reverse("ledger:entry_new", args=[uk.code])
    response = client.post(new_url, _manual_form(account=["6200", "9999", "", ""]))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="line-1-account-error"' in html
    assert "No such account in this legal entity." in html
    assert 'value="Owner pays a supplier bill"' in html
    assert 'value="120.00"' in html
    assert '<option value="6200" selected>' in html
    unbalanced = client.post(new_url, _manual_form(credit=["", "100.00", "", ""]))
    assert unbalanced.status_code == 400
    assert "must be equal" in unbalanced.content.decode()
    assert not JournalEntry.objects.filter(source_type="manual").exists()


def test_a_manual_entry_understands_a_decimal_comma(client, finance, uk):
    client.force_login(finance)
    new_url = reverse("ledger:entry_new", args=[uk.code])
    form = _manual_form(debit=["120,50", "", "", ""], credit=["", "120.50", "", ""])
    response = client.post(new_url, form)
    assert response.status_code == 302
    entry = JournalEntry.objects.get(source_type="manual")
    assert sorted(line.debit for line in entry.lines.all()) == [D("0"), D("120.50")]
