"""Billed work is final, enforced by PostgreSQL whatever writes the rows (ORM, admin or raw SQL),
as the ledger's journal rows are (ledger 0003).

1. An invoice's lines change only while it is a draft (INSERT, UPDATE and DELETE).
2. Once issued, an invoice's money and identity are frozen: only the columns that move after
   issue may change (ISSUED_MOVES). It never goes back to draft, a void invoice stays void, it
   is never deleted, and it becomes void only with an issued credit note referencing it
   (checked at COMMIT).
3. A billing link (time entry, expense, milestone, fee period → invoice line) is created,
   edited or deleted only while its invoice is a draft. Its one later change is the release
   (released_at NULL → a time, never back, never moved), allowed only if at COMMIT the invoice
   is void and an issued credit note references it: voiding (billing.services.voiding) is the
   only way. Deferred, because voiding releases the links before it marks the invoice void.

Every refusal raises SQLSTATE 23514 (check_violation), which Django maps to IntegrityError.
The status reads take FOR SHARE, so a concurrent issue (which holds the invoice row) is waited
for and then seen, never raced.
"""

from django.db import migrations

LINK_TABLES = (
    "billing_timeentrybilling",
    "billing_expensebilling",
    "billing_milestonebilling",
    "billing_schedulebilling",
)

# What legitimately moves on an issued invoice, by the service that moves it: status and
# amount_paid (payments, refunds, prepaid funds, voiding), updated_at (payments, PDF), pdf
# (rendering), sent_at (mailing), billing_run_id (SET NULL if a run's record is deleted: a
# provenance pointer, not money), pay_token (no service rotates it today; a leaked pay link
# must be replaceable without a credit note, and it carries no money) and due_date (a payment
# term, not an amount: the receivable is posted at the issue date, so agreeing a later date
# with the customer changes nothing in the books; dunning and AR aging read it; the API's
# overdue filter test moves it).
ISSUED_MOVES = (
    "status",
    "due_date",
    "amount_paid",
    "updated_at",
    "pdf",
    "sent_at",
    "billing_run_id",
    "pay_token",
)

FUNCTIONS = r"""
-- The status of an invoice, read under FOR SHARE (NULL when there is no such invoice: the
-- foreign key, checked at commit, speaks for that case).
CREATE OR REPLACE FUNCTION billing_invoice_status(invoice bigint) RETURNS text AS $$
    SELECT status FROM billing_invoice WHERE id = invoice FOR SHARE
$$ LANGUAGE sql VOLATILE;

CREATE OR REPLACE FUNCTION billing_line_invoice(line bigint) RETURNS bigint AS $$
    SELECT invoice_id FROM billing_invoiceline WHERE id = line
$$ LANGUAGE sql STABLE;

-- 1. Lines of a draft only.
CREATE OR REPLACE FUNCTION billing_line_draft_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND billing_invoice_status(OLD.invoice_id) <> 'draft' THEN
        RAISE EXCEPTION 'invoice % is issued: its lines cannot be changed or deleted (void it '
            'with a credit note)', OLD.invoice_id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP <> 'DELETE' AND billing_invoice_status(NEW.invoice_id) <> 'draft' THEN
        RAISE EXCEPTION 'invoice % is issued: lines cannot be added to it', NEW.invoice_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- 2. An issued invoice: frozen but for ISSUED_MOVES; never draft again, void is final.
CREATE OR REPLACE FUNCTION billing_invoice_issued_frozen() RETURNS trigger AS $$
DECLARE
    changed text;
BEGIN
    IF OLD.status = 'draft' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'invoice % is issued and cannot be deleted: void it with a credit note',
            OLD.number USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status = 'draft' THEN
        RAISE EXCEPTION 'invoice % is issued and cannot return to draft', OLD.number
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status = 'void' AND NEW.status <> 'void' THEN
        RAISE EXCEPTION 'invoice % is void, and void is final', OLD.number
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT string_agg(n.key, ', ' ORDER BY n.key) INTO changed
      FROM jsonb_each(to_jsonb(NEW)) n JOIN jsonb_each(to_jsonb(OLD)) o USING (key)
     WHERE n.value IS DISTINCT FROM o.value AND n.key <> ALL (ISSUED_MOVES);
    IF changed IS NOT NULL THEN
        RAISE EXCEPTION 'invoice % is issued: % cannot change (void it with a credit note)',
            OLD.number, changed USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- 2b, 3b. At commit: the invoice is void and an issued credit note references it.
CREATE OR REPLACE FUNCTION billing_require_void_with_credit_note(invoice bigint, what text)
RETURNS void AS $$
BEGIN
    IF billing_invoice_status(invoice) IS DISTINCT FROM 'void' OR NOT EXISTS (
        SELECT 1 FROM billing_invoice c
         WHERE c.credits_id = invoice AND c.kind = 'credit_note' AND c.status <> 'draft'
    ) THEN
        RAISE EXCEPTION '% of invoice % without an issued credit note: only voiding does that',
            what, invoice USING ERRCODE = 'check_violation';
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_invoice_void_check() RETURNS trigger AS $$
BEGIN
    PERFORM billing_require_void_with_credit_note(NEW.id, 'voiding');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- 3. Links: written only while the invoice is a draft; released only forward.
CREATE OR REPLACE FUNCTION billing_link_guard() RETURNS trigger AS $$
DECLARE
    old_draft boolean;
    new_draft boolean;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_draft := billing_invoice_status(billing_line_invoice(OLD.line_id)) = 'draft';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_draft := billing_invoice_status(billing_line_invoice(NEW.line_id)) = 'draft';
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF old_draft IS FALSE THEN
            RAISE EXCEPTION 'billing link % (%) bills an issued invoice and cannot be deleted: '
                'void the invoice with a credit note', OLD.id, TG_TABLE_NAME
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF new_draft IS FALSE OR NEW.released_at IS NOT NULL THEN
            RAISE EXCEPTION 'a billing link (%) is created active, on a draft invoice''s line',
                TG_TABLE_NAME USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.released_at IS NOT NULL AND NEW.released_at IS DISTINCT FROM OLD.released_at THEN
        RAISE EXCEPTION 'billing link % (%) is released, and a release is final', OLD.id,
            TG_TABLE_NAME USING ERRCODE = 'check_violation';
    END IF;
    IF (to_jsonb(NEW) - 'released_at') <> (to_jsonb(OLD) - 'released_at')
       AND (old_draft IS FALSE OR new_draft IS FALSE) THEN
        RAISE EXCEPTION 'billing link % (%) bills an issued invoice and cannot be changed',
            OLD.id, TG_TABLE_NAME USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_link_release_check() RETURNS trigger AS $$
BEGIN
    PERFORM billing_require_void_with_credit_note(
        billing_line_invoice(NEW.line_id), format('releasing %s %s', TG_TABLE_NAME, NEW.id)
    );
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""".replace("ISSUED_MOVES", "ARRAY[" + ", ".join(f"'{c}'" for c in ISSUED_MOVES) + "]")

TRIGGERS = r"""
CREATE TRIGGER billing_line_draft_only BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION billing_line_draft_only();
CREATE TRIGGER billing_invoice_issued_frozen BEFORE UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_issued_frozen();
CREATE CONSTRAINT TRIGGER billing_invoice_void_credited AFTER UPDATE OF status ON billing_invoice
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status = 'void' AND OLD.status <> 'void')
    EXECUTE FUNCTION billing_invoice_void_check();
""" + "".join(
    f"""
CREATE TRIGGER {t}_guard BEFORE INSERT OR UPDATE OR DELETE ON {t}
    FOR EACH ROW EXECUTE FUNCTION billing_link_guard();
CREATE CONSTRAINT TRIGGER {t}_release AFTER UPDATE OF released_at ON {t}
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.released_at IS NULL AND NEW.released_at IS NOT NULL)
    EXECUTE FUNCTION billing_link_release_check();
"""
    for t in LINK_TABLES
)

BACKWARD = (
    "".join(
        f"DROP TRIGGER IF EXISTS {t}_release ON {t};\nDROP TRIGGER IF EXISTS {t}_guard ON {t};\n"
        for t in LINK_TABLES
    )
    + r"""
DROP TRIGGER IF EXISTS billing_invoice_void_credited ON billing_invoice;
DROP TRIGGER IF EXISTS billing_invoice_issued_frozen ON billing_invoice;
DROP TRIGGER IF EXISTS billing_line_draft_only ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_link_release_check();
DROP FUNCTION IF EXISTS billing_link_guard();
DROP FUNCTION IF EXISTS billing_invoice_void_check();
DROP FUNCTION IF EXISTS billing_require_void_with_credit_note(bigint, text);
DROP FUNCTION IF EXISTS billing_invoice_issued_frozen();
DROP FUNCTION IF EXISTS billing_line_draft_only();
DROP FUNCTION IF EXISTS billing_line_invoice(bigint);
DROP FUNCTION IF EXISTS billing_invoice_status(bigint);
"""
)


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_merge_0004_billing_models_0004_payments")]

    operations = [migrations.RunSQL(FUNCTIONS + TRIGGERS, BACKWARD)]
