import datetime as dt

import factory

from ledger.models import LegalEntity


class LegalEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalEntity
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"entity-{n}")
    name = factory.Sequence(lambda n: f"Entity {n}")
    legal_name = factory.LazyAttribute(lambda o: f"{o.name} Ltd")
    country = "GB"
    functional_currency = "GBP"


def books(**kwargs) -> LegalEntity:
    """A legal entity with the default chart of accounts and role mapping."""
    from ledger.services import books_setup

    entity = LegalEntityFactory(**kwargs)
    books_setup(legal_entity=entity)
    return entity


def manual_entry(
    entity: LegalEntity,
    *,
    date: dt.date,
    amount: str,
    debit: str = "1150",
    credit: str = "4000",
    actor=None,
    memo: str = "Manual correction",
):
    """A manual journal entry (the one kind a person may reverse): Dr ``debit``, Cr ``credit``."""
    from ledger.services import journal_manual_post
    from psa.kernel.roles import Role
    from tests.psa.factories import UserFactory

    return journal_manual_post(
        legal_entity=entity, date=date, memo=memo, actor=actor or UserFactory(roles=[Role.FINANCE]),
        lines=[{"account": debit, "debit": amount}, {"account": credit, "credit": amount}],
    )  # fmt: skip
