"""The ledger's invariants, enforced by PostgreSQL whatever writes the rows (ORM or raw SQL).

Every violation raises SQLSTATE 23514 (check_violation), which Django maps to IntegrityError.
"""

from django.db import migrations

FORWARD = r"""
-- 1. Balanced at commit: debits = credits (functional currency) per entry, with two lines at
--    least. Deferred to COMMIT so the lines of one entry can be inserted one by one.
CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger AS $$
DECLARE
    eid bigint;
    dr numeric;
    cr numeric;
    n integer;
BEGIN
    IF TG_TABLE_NAME = 'ledger_journalentry' THEN
        eid := NEW.id;
    ELSE
        eid := NEW.entry_id;
    END IF;
    SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0), COUNT(*)
      INTO dr, cr, n FROM ledger_journalline WHERE entry_id = eid;
    IF n < 2 THEN
        RAISE EXCEPTION 'journal entry % has % line(s); an entry needs at least two', eid, n
            USING ERRCODE = 'check_violation';
    END IF;
    IF dr <> cr THEN
        RAISE EXCEPTION 'journal entry % does not balance: debits % <> credits %', eid, dr, cr
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_line_balanced
    AFTER INSERT ON ledger_journalline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();

CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();

-- 2. Posted is final: no UPDATE or DELETE of entries or lines, ever. Corrections are
--    reversing entries. (TRUNCATE, used only by test teardown, is a table-level statement.)
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'posted journal rows cannot be changed or deleted (%): post a reversing entry',
        TG_TABLE_NAME USING ERRCODE = 'check_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_line_immutable BEFORE UPDATE OR DELETE ON ledger_journalline
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- 3. An entry is stamped with its transaction; lines may join it only in that transaction,
--    so a committed entry can never grow a line. It may not be dated on or before the
--    entity's lock date.
CREATE OR REPLACE FUNCTION ledger_entry_before_insert() RETURNS trigger AS $$
DECLARE
    soft date;
    hard date;
BEGIN
    NEW.created_txid := txid_current();
    SELECT soft_lock_date, hard_lock_date INTO soft, hard
      FROM ledger_legalentity WHERE id = NEW.legal_entity_id;
    IF hard IS NOT NULL AND NEW.date <= hard THEN
        RAISE EXCEPTION 'cannot post on % : the books are hard-locked through %', NEW.date, hard
            USING ERRCODE = 'check_violation';
    END IF;
    IF soft IS NOT NULL AND NEW.date <= soft THEN
        RAISE EXCEPTION 'cannot post on % : the books are locked through %', NEW.date, soft
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_entry_stamp BEFORE INSERT ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_before_insert();

CREATE OR REPLACE FUNCTION ledger_line_before_insert() RETURNS trigger AS $$
DECLARE
    txid bigint;
    entity bigint;
    account_entity bigint;
BEGIN
    SELECT created_txid, legal_entity_id INTO txid, entity
      FROM ledger_journalentry WHERE id = NEW.entry_id;
    IF txid IS DISTINCT FROM txid_current() THEN
        RAISE EXCEPTION 'journal entry % is already posted; lines cannot be added', NEW.entry_id
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT legal_entity_id INTO account_entity FROM ledger_account WHERE id = NEW.account_id;
    IF account_entity IS DISTINCT FROM entity THEN
        RAISE EXCEPTION 'account % belongs to another legal entity', NEW.account_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_line_stamp BEFORE INSERT ON ledger_journalline
    FOR EACH ROW EXECUTE FUNCTION ledger_line_before_insert();

-- 4. The hard lock is final: it can move forward, never back, never be removed.
CREATE OR REPLACE FUNCTION ledger_hard_lock_forward_only() RETURNS trigger AS $$
BEGIN
    IF OLD.hard_lock_date IS NOT NULL AND (
        NEW.hard_lock_date IS NULL OR NEW.hard_lock_date < OLD.hard_lock_date
    ) THEN
        RAISE EXCEPTION 'the hard lock date (%) can never be lifted or moved back', OLD.hard_lock_date
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_hard_lock_final BEFORE UPDATE OF hard_lock_date ON ledger_legalentity
    FOR EACH ROW EXECUTE FUNCTION ledger_hard_lock_forward_only();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS ledger_hard_lock_final ON ledger_legalentity;
DROP TRIGGER IF EXISTS ledger_line_stamp ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_entry_stamp ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_line_immutable ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_entry_immutable ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_line_balanced ON ledger_journalline;
DROP FUNCTION IF EXISTS ledger_hard_lock_forward_only();
DROP FUNCTION IF EXISTS ledger_line_before_insert();
DROP FUNCTION IF EXISTS ledger_entry_before_insert();
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP FUNCTION IF EXISTS ledger_check_entry_balanced();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_books")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
