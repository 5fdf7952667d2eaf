import factory

from psa.kernel.models import User
from psa.kernel.roles import assign_roles


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("secret-pass-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            # The groups come from a data migration; a transactional test's flush (browser
            # tests, concurrency tests) empties them, so make sure they exist.
            from django.contrib.auth.models import Group

            for role in extracted:
                Group.objects.get_or_create(name=role)
            assign_roles(self, extracted)
