import pytest

from crm.tasks import lead_notify_owner


@pytest.fixture
def run_tasks(monkeypatch):
    """Run the crm tasks in-process when they would be published (after commit)."""
    ran: list[tuple] = []

    def apply_async(args=(), kwargs=None, **options):
        ran.append(tuple(args))
        return lead_notify_owner.apply(args=args, kwargs=kwargs or {})

    monkeypatch.setattr(lead_notify_owner, "apply_async", apply_async)
    return ran
