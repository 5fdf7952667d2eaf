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
