import secrets

import factory

from crm.models import Contact, Customer, Lead, LeadFormKey, LeadSource, Opportunity
from tests.ledger.factories import LegalEntityFactory
from tests.psa.factories import UserFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    legal_entity = factory.SubFactory(LegalEntityFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    country = "GB"
    currency = "GBP"
    billing_email = factory.Sequence(lambda n: f"ap{n}@customer.test")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@customer.test")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    legal_entity = factory.SubFactory(LegalEntityFactory)
    name = factory.Faker("name")
    company = factory.Sequence(lambda n: f"Prospect {n}")
    email = factory.Sequence(lambda n: f"lead{n}@prospect{n}.test")
    source = LeadSource.WEB_FORM
    message = "We need help with our data platform."


class LeadFormKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadFormKey

    legal_entity = factory.SubFactory(LegalEntityFactory)
    name = "Our website"
    key = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    owner = factory.SubFactory(UserFactory, roles=["project_manager"])
    allowed_origins = factory.LazyFunction(lambda: ["https://www.firm.example"])


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity
        skip_postgeneration_save = True

    customer = factory.SubFactory(CustomerFactory)
    legal_entity = factory.SelfAttribute("customer.legal_entity")
    name = factory.Sequence(lambda n: f"Deal {n}")
    value = "12000.00"
    currency = "GBP"
    probability = 50

    @factory.post_generation
    def project_template(self, create: bool, template: object, **kwargs: object) -> None:
        """``project_template=``: the plan (projects.OpportunityPlan) the win starts from."""
        if create and template is not None:
            from projects.models import OpportunityPlan

            OpportunityPlan.objects.create(opportunity=self, template=template)
