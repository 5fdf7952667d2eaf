import factory

from crm.models import Customer
from tests.ledger.factories import LegalEntityFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    legal_entity = factory.SubFactory(LegalEntityFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    country = "GB"
    currency = "GBP"
    billing_email = factory.Sequence(lambda n: f"ap{n}@customer.test")
