"""Lines carry their entry's entity and date, set by the insert trigger, for join-free reports."""

import django.db.models.deletion
from django.db import migrations, models

FILL_AND_ENFORCE = r"""
-- Existing lines take their entry's values; the immutability trigger steps aside for this one
-- statement, inside this migration's transaction.
ALTER TABLE ledger_journalline DISABLE TRIGGER ledger_line_immutable;
UPDATE ledger_journalline l SET legal_entity_id = e.legal_entity_id, date = e.date
  FROM ledger_journalentry e WHERE e.id = l.entry_id;
ALTER TABLE ledger_journalline ENABLE TRIGGER ledger_line_immutable;

CREATE OR REPLACE FUNCTION ledger_line_before_insert() RETURNS trigger AS $$
DECLARE
    txid bigint;
    entity bigint;
    entry_date date;
    account_entity bigint;
BEGIN
    SELECT created_txid, legal_entity_id, date INTO txid, entity, entry_date
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
    -- Whatever the writer said, a line's entity and date are its entry's.
    NEW.legal_entity_id := entity;
    NEW.date := entry_date;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0003_ledger_triggers"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="journalline",
            name="ledger_jour_documen_503f6c_idx",
        ),
        migrations.AddField(
            model_name="journalline",
            name="date",
            field=models.DateField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="journalline",
            name="legal_entity",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="ledger.legalentity",
            ),
        ),
        migrations.RunSQL(FILL_AND_ENFORCE, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="journalline",
            name="date",
            field=models.DateField(editable=False),
        ),
        migrations.AlterField(
            model_name="journalline",
            name="legal_entity",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="ledger.legalentity",
            ),
        ),
        migrations.AddIndex(
            model_name="journalline",
            index=models.Index(
                fields=["legal_entity", "account", "date"],
                include=("debit", "credit"),
                name="journal_line_balances",
            ),
        ),
        migrations.AddIndex(
            model_name="journalline",
            index=models.Index(
                fields=["account", "document"],
                include=("date", "due_date", "customer_id", "debit", "credit"),
                name="journal_line_open_items",
            ),
        ),
    ]
