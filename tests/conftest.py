"""Standing personas, so permission tests read like sentences."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from psa.kernel.roles import Role
from tests.projects.factories import AssignmentFactory, ProjectFactory
from tests.psa.factories import UserFactory

PASSWORD = "secret-pass-123"


@pytest.fixture(autouse=True)
def _clean_cache():
    """Every test starts with an empty cache: this xdist worker's keys only (a flush of the
    whole database would wipe the keys and queues of tests running in parallel)."""
    from django.conf import settings

    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)
    yield


@pytest.fixture
def consultant(db):
    return UserFactory(email="consultant@example.test", first_name="Cora", roles=[Role.CONSULTANT])


@pytest.fixture
def project_manager(db):
    return UserFactory(
        email="manager@example.test",
        first_name="Manny",
        roles=[Role.PROJECT_MANAGER, Role.CONSULTANT],
    )


@pytest.fixture
def finance(db):
    return UserFactory(email="finance@example.test", first_name="Fin", roles=[Role.FINANCE])


@pytest.fixture
def admin_user(db):
    return UserFactory(
        email="admin@example.test", first_name="Ada", roles=[Role.ADMIN], is_staff=True
    )


@pytest.fixture
def outsider(db):
    """Signed in, but holds no role and works on nothing."""
    return UserFactory(email="outsider@example.test", first_name="Otto")


@pytest.fixture
def project(project_manager, consultant):
    """A project the manager runs and the consultant works on."""
    project = ProjectFactory(manager=project_manager, code="apollo", name="Apollo")
    AssignmentFactory(project=project, person=consultant)
    return project


def pytest_collection_modifyitems(config, items):
    """The long schemathesis run (marker ``fuzz_long``) runs only when asked for by name
    (``-m fuzz_long``): deselected otherwise, so the suite keeps its time budget."""
    if "fuzz_long" in (config.getoption("markexpr") or ""):
        return
    keep = [item for item in items if item.get_closest_marker("fuzz_long") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
