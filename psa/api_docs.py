"""What an integrator reads for each API operation: a summary, a description, the token scope.

A drf-spectacular postprocessing hook of the site (``SPECTACULAR_SETTINGS``): the views'
docstrings are written for the people who maintain them, so the served schema takes each
operation's summary and description from this table, keyed by operationId, and ends the
description with the token scopes the kernel's AutoSchema found (``x-scopes``).
``tests/api/test_generated_client.py`` holds every operation to having one.
"""

from __future__ import annotations

from typing import Any

from psa.kernel.api_schema import METHODS

PATCH_IF_MATCH = " Send the ETag you read in `If-Match`; a 412 means it changed since."

OPERATIONS: dict[str, tuple[str, str]] = {
    # --- settings finance keeps: automation, dunning, tax and FX rates, templates, tokens --
    "automation_policies_list": ("List automation policies",
        "Each legal entity's policy (every setting stated) and the customer and project "
        "overrides (null: inherit). Filter by entity, customer, project or scope."),
    "automation_policies_create": ("Add an automation policy override",
        "A customer's or project's override of its entity's policy, stating only what it "
        "changes; 409 when that customer or project has one already."),
    "automation_policies_retrieve": ("Get an automation policy", "One policy, with its ETag."),
    "automation_policies_partial_update": ("Change an automation policy",
        "Only the fields sent change. On an entity's policy null resets a setting to its "
        "default; on an override null means inherit." + PATCH_IF_MATCH),
    "automation_policies_destroy": ("Remove an automation policy override",
        "The customer or project then follows its entity again; an entity's own policy "
        "cannot be removed (409)."),
    "billing_dunning_levels_list": ("List dunning levels",
        "The reminders each legal entity sends, by days from the due date, with their late "
        "fees per currency."),
    "billing_dunning_levels_create": ("Add a dunning level",
        "A reminder sent a number of days before (negative) or after the due date, with its "
        "subject, body and late fee (a percentage with a minimum, or an amount, per currency)."),
    "billing_dunning_levels_retrieve": ("Get a dunning level", "One level, with its ETag."),
    "billing_dunning_levels_partial_update": ("Change a dunning level",
        "Fields not sent keep their values." + PATCH_IF_MATCH),
    "billing_dunning_levels_destroy": ("Delete a dunning level",
        "A level that has already sent reminders cannot be deleted (409): deactivate it."),
    "billing_invoices_create": ("Create a draft invoice by hand",
        "A draft for a customer with the lines you give (description, quantity, unit price, "
        "optionally a service item). Net, tax and totals are computed here with the customer's "
        "tax rate and never taken from the request; issue it with the issue operation."),
    "billing_tax_rates_list": ("List tax rates",
        "Each legal entity's tax rates; one is its default."),
    "billing_tax_rates_create": ("Add a tax rate",
        "A rate for a legal entity; making it the default takes the flag from the old one."),
    "billing_tax_rates_retrieve": ("Get a tax rate", "One tax rate, with its ETag."),
    "billing_tax_rates_partial_update": ("Change a tax rate",
        "Name, rate, default or active; the default rate cannot be deactivated (409)."
        + PATCH_IF_MATCH),
    "ledger_fx_rates_list": ("List FX rates",
        "Daily rates from a currency to a functional currency; filter by currency, functional "
        "currency and date range. Documents use the latest rate on or before their date."),
    "ledger_fx_rates_create": ("Set a day's FX rate",
        "Creates the rate for that day (201) or replaces it (200). ISO 4217 currencies, a rate "
        "above zero with at most 10 decimals."),
    "project_templates_list": ("List project templates",
        "Templates a project (or a won opportunity) starts from: tasks, milestones and rates."),
    "project_templates_create": ("Create a project template",
        "A template with its tasks, milestones and rates (project managers and finance)."),
    "project_templates_retrieve": ("Get a project template", "One template by its code."),
    "tokens_list": ("List my API tokens",
        "Your own tokens with their scopes, last use and expiry; never the secret."),
    "tokens_retrieve": ("Get one of my API tokens", "One of your tokens; never the secret."),
    "tokens_destroy": ("Revoke an API token",
        "The token answers 401 from the next request on. Another person's token is a 404."),
    "tokens_revoke_create": ("Revoke an API token (POST)",
        "The same as deleting it, for clients that cannot send DELETE."),
    # --- billing ---------------------------------------------------------------------------
    "billing_fees_list": ("List recurring fees",
        "Retainers and subscriptions billed every period, with their quantities per period."),
    "billing_fees_create": ("Create a recurring fee",
        "A retainer or subscription for a customer (finance). Billing runs invoice it each "
        "period from its start date."),
    "billing_fees_retrieve": ("Get a recurring fee", "One recurring fee, with its ETag."),
    "billing_fees_partial_update": ("Change a recurring fee",
        "Change its description or period anchor; the anchor is refused with 409 once a "
        "period has been billed." + PATCH_IF_MATCH),
    "billing_fees_usage_update": ("Set a subscription's usage for a period",
        "The quantity the subscription bills for the period starting on `period_start`; "
        "409 once that period is invoiced."),
    "billing_invoices_list": ("List invoices",
        "Invoices and credit notes you may see (finance), newest first; filter by customer, "
        "status or `updated_since`."),
    "billing_invoices_retrieve": ("Get an invoice",
        "One invoice with its lines, totals and ETag."),
    "billing_invoices_issue_create": ("Issue a draft invoice",
        "Gives the draft its number and dates and books it; issuing an issued invoice again "
        "changes nothing."),
    "billing_invoices_pdf_retrieve": ("Download an invoice's PDF",
        "The invoice as `application/pdf`; a draft is rendered as a preview. Errors are JSON."),
    "billing_invoices_send_create": ("E-mail an invoice",
        "Queues the issued invoice with its PDF to the customer's billing address; calling "
        "again sends it again."),
    "billing_invoices_void_create": ("Void an invoice",
        "Voids an issued, unpaid invoice and returns the credit note that negates it."),
    "billing_reports_project_profitability_retrieve": ("Project profitability",
        "Per project, invoiced net revenue against the value of approved time in a period "
        "(time valued at its bill rate)."),
    "billing_runs_list": ("List billing runs",
        "Billing runs, newest first, with what each billed."),
    "billing_runs_create": ("Execute a billing run",
        "Bills approved time, expenses and fees up to `period_end` for a legal entity: one "
        "draft invoice per customer (or project), issued at once with `issue`."),
    "billing_runs_retrieve": ("Get a billing run",
        "One run: its status, the invoices it created and any invoice it could not issue."),
    "billing_runs_preview_create": ("Preview a billing run",
        "What a run would bill, per customer or project invoice; nothing is written."),
    # --- crm -------------------------------------------------------------------------------
    "crm_contacts_list": ("List contacts", "Contacts of the customers you may see."),
    "crm_contacts_create": ("Create a contact", "Adds a contact person to a customer."),
    "crm_contacts_retrieve": ("Get a contact", "One contact, with its ETag."),
    "crm_contacts_partial_update": ("Change a contact",
        "Change a contact's name, e-mail, phone, title or billing flag." + PATCH_IF_MATCH),
    "crm_customers_list": ("List customers",
        "Customers you may see: finance all, project managers theirs."),
    "crm_customers_create": ("Create a customer",
        "A customer of a legal entity, with its country, currency and billing e-mail "
        "(project managers and finance)."),
    "crm_customers_retrieve": ("Get a customer", "One customer, with its ETag."),
    "crm_customers_partial_update": ("Change a customer",
        "Change a customer's name, addresses, country, currency, terms, tax details, billing "
        "e-mail, account manager or whether it is active."
        + PATCH_IF_MATCH),
    "crm_leads_list": ("List leads", "The sales pipeline's leads, newest first."),
    "crm_leads_create": ("Create a lead",
        "Creates a lead (201); a repeat of an open lead's e-mail attaches to that lead "
        "instead (200, `created` false)."),
    "crm_leads_retrieve": ("Get a lead", "One lead with its submissions."),
    "crm_leads_convert_create": ("Convert a lead",
        "Turns a qualified lead into a customer with its contact."),
    "crm_leads_disqualify_create": ("Disqualify a lead", "Closes a lead with a reason."),
    "crm_leads_qualify_create": ("Qualify a lead", "Marks a new lead as qualified."),
    "crm_opportunities_list": ("List opportunities", "Opportunities of the pipeline."),
    "crm_opportunities_create": ("Create an opportunity",
        "An opportunity for a customer or a lead, with its expected value."),
    "crm_opportunities_retrieve": ("Get an opportunity", "One opportunity, with its ETag."),
    "crm_opportunities_partial_update": ("Change an opportunity",
        "Change its name, stage, value, probability, expected close, owner or template."
        + PATCH_IF_MATCH),
    "crm_opportunities_lose_create": ("Mark an opportunity lost", "Closes it as lost."),
    "crm_opportunities_win_create": ("Win an opportunity",
        "Closes it as won: creates the customer (from the lead if needed) and its project "
        "from a project template."),
    # --- automation ------------------------------------------------------------------------
    "jobs_list": ("List job runs",
        "What each scheduled job did: processed, skipped and failed items (finance, admins)."),
    "jobs_retrieve": ("Get a job run", "One job run with its per-item errors."),
    # --- ledger ----------------------------------------------------------------------------
    "ledger_accounts_list": ("List accounts", "The legal entity's chart of accounts."),
    "ledger_entries_list": ("List journal entries",
        "Journal entries with their lines, newest first; `since` and `until` filter by date."),
    "ledger_entries_create": ("Post a manual journal entry",
        "Balanced lines in the entity's functional currency, each a debit or a credit; a 400 "
        "names the offending line (`lines[1].account`)."),
    "ledger_entries_reverse_create": ("Reverse a manual journal entry",
        "Posts its reversing entry (on the first open day if the period is locked); an entry "
        "a business document posted is refused with 409."),
    "ledger_reports_ar_aging_retrieve": ("Accounts receivable aging",
        "Open receivables per customer in age buckets as of a date."),
    "ledger_reports_balance_sheet_retrieve": ("Balance sheet",
        "Assets, liabilities and equity as of a date."),
    "ledger_reports_profit_and_loss_retrieve": ("Profit and loss",
        "Income and expenses over a period."),
    "ledger_reports_trial_balance_retrieve": ("Trial balance",
        "Debit and credit balance of every account as of a date; the totals are equal."),
    "ledger_reports_unbilled_wip_retrieve": ("Unbilled work in progress",
        "Approved time and expenses not yet invoiced, per project."),
    "ledger_entities_list": ("List legal entities",
        "The firm's legal entities with their functional currency and lock dates."),
    # --- payments --------------------------------------------------------------------------
    "payments_list": ("List payments",
        "Payments received, newest first; `invoice` lists one invoice's (finance)."),
    "payments_create": ("Record a payment",
        "A bank transfer received against an issued invoice, in its currency, booked in the "
        "ledger. "
        "Send an `Idempotency-Key` so a retry never records it twice."),
    "payments_refunds_create": ("Refund a payment",
        "Refunds all or part of a payment, with a reason."),
    "payments_attempts_list": ("List card payment attempts",
        "Attempts that need attention: failed, or stuck in flight."),
    "payments_attempts_retry_create": ("Retry a card payment attempt",
        "Tries a failed attempt again."),
    "payments_invoices_write_off_create": ("Write off an invoice",
        "Writes off the open balance of an issued invoice as a bad debt."),
    # --- projects --------------------------------------------------------------------------
    "projects_list": ("List projects", "Projects you may see."),
    "projects_create": ("Create a project",
        "A project for a customer from a project template (its rates, tasks and milestones); "
        "the manager is assigned to it."),
    "projects_retrieve": ("Get a project", "One project by its code, with its ETag."),
    "projects_partial_update": ("Change a project",
        "Change its name, status, end date, budgets or who may log time." + PATCH_IF_MATCH),
    "projects_assignments_list": ("List a project's assignments",
        "The people who may log time on the project."),
    "projects_assignments_create": ("Assign a person to a project",
        "Lets the person log time on the project, in a role."),
    "projects_rates_list": ("List a project's rates",
        "The project's rate lines (managers and finance); a change is a new line from a date."),
    "projects_rates_create": ("Add a rate to a project",
        "An hourly rate from a date, for the project or one person on it."),
    "projects_tasks_list": ("List a project's tasks",
        "The project's tasks; their ids go with time entries."),
    "projects_milestones_list": ("List milestones", "Milestones of the projects you may see."),
    "projects_milestones_retrieve": ("Get a milestone", "One milestone, with its ETag."),
    "projects_milestones_partial_update": ("Change a milestone",
        "Change a milestone's name, amount or planned date." + PATCH_IF_MATCH),
    "projects_milestones_reach_create": ("Mark a milestone reached",
        "Marks a planned milestone reached today (the project's manager or finance)."),
    "projects_service_items_list": ("List service items", "The catalogue of service items."),
    "projects_service_items_create": ("Create a service item",
        "Finance adds one; its revenue role must be an income account in every chart, or a "
        "400 names `revenue_account_role`."),
    # --- time ------------------------------------------------------------------------------
    "time_approval_policies_list": ("List approval policies",
        "Finance sees all; a manager those of their projects."),
    "time_approval_policies_create": ("Create an approval policy",
        "Rules that let submitted time be approved automatically, for an entity or project."),
    "time_approval_policies_retrieve": ("Get an approval policy", "One policy, with its ETag."),
    "time_approval_policies_partial_update": ("Change an approval policy",
        "Enable it or change its rules (hours per day and week, notes, budget, weekends …)."
        + PATCH_IF_MATCH),
    "time_approval_policies_destroy": ("Delete an approval policy",
        "Removes the policy: its rules no longer approve time automatically." + PATCH_IF_MATCH),
    "time_cell_update": ("Set one cell of your week",
        "Creates, updates or (at 0 hours) clears your time for a project, task and day."),
    "time_entries_list": ("List a week's time entries",
        "One week's entries: your own, or (managers, finance) a person's you may see."),
    "time_entries_retrieve": ("Get a time entry", "One time entry, with its ETag."),
    "time_entries_partial_update": ("Change a time entry",
        "Change hours, note or billable on your own draft or rejected entry." + PATCH_IF_MATCH),
    "time_entries_destroy": ("Delete a time entry",
        "Deletes your own draft or rejected entry." + PATCH_IF_MATCH),
    "time_entries_bulk_create": ("Set many cells of your time",
        "All or nothing: each cell (project, task, day) is created, updated if a draft, or "
        "cleared at 0 hours. Returns the saved entries as an array; on an error nothing is "
        "saved and the error names the entry (`entries[2].hours`)."),
    "time_entries_search_list": ("Search time entries",
        "Entries you may see: yours, managers also their projects', finance all."),
    "time_expenses_list": ("List expenses", "Expenses you may see."),
    "time_expenses_create": ("Add an expense",
        "Your expense on a project, sent as multipart/form-data with its receipt file (PDF, "
        "JPEG or PNG, at most 10 MB)."),
    "time_expenses_retrieve": ("Get an expense", "One expense, with its ETag."),
    "time_expenses_partial_update": ("Change an expense",
        "Change your own expense's date, amount, category, description, billable or markup."
        + PATCH_IF_MATCH),
    "time_weeks_approve_create": ("Approve a week",
        "Approves a person's submitted week (or one day of it) on the projects you approve; "
        "your own time is approved by someone else."),
    "time_weeks_reject_create": ("Reject a week",
        "Sends a person's submitted week (or one day) back with a reason."),
    "time_weeks_submit_create": ("Submit your week",
        "Sends your week's draft entries to approval; returns how many went."),
    # --- webhooks --------------------------------------------------------------------------
    "webhooks_list": ("List webhook subscriptions", "Your outbound webhook subscriptions."),
    "webhooks_create": ("Subscribe a webhook",
        "An HTTPS endpoint and the events to send it; the answer holds the signing secret, "
        "shown once."),
    "webhooks_retrieve": ("Get a webhook subscription", "One subscription, with its ETag."),
    "webhooks_partial_update": ("Change a webhook subscription",
        "Change its URL, events, description or whether it is active." + PATCH_IF_MATCH),
    "webhooks_destroy": ("Delete a webhook subscription",
        "Stops deliveries to the endpoint." + PATCH_IF_MATCH),
    "webhooks_deliveries_list": ("List a subscription's deliveries",
        "Each event sent, its status and attempts."),
    "webhooks_deliveries_redeliver_create": ("Redeliver an event",
        "Queues a delivery again."),
    "webhooks_events_list": ("List webhook events", "The events a subscription can name."),
}  # fmt: skip


def _scope_line(scopes: list[str]) -> str:
    if not scopes:
        return "API tokens cannot call this; sign in."
    names = " or ".join(f"`{s}`" for s in scopes)
    return f"Token scope: {names}."


def describe_operations(result: dict[str, Any], generator: Any, request: Any, public: Any):
    """The postprocessing hook: each operation's summary and description from the table."""
    for item in result.get("paths", {}).values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            summary, description = OPERATIONS.get(op.get("operationId"), ("", ""))
            if summary:
                op["summary"] = summary
            op["description"] = f"{description}\n\n{_scope_line(op.get('x-scopes', []))}".strip()
    return result
