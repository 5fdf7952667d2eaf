"""Celery: tasks are sent only after commit, and a real worker runs them against Redis."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from psa.automation.selectors import HEARTBEAT_KEY
from psa.automation.tasks import clear_expired_sessions, heartbeat
from psa.celery import app
from psa.kernel.queue import enqueue_on_commit


@pytest.fixture
def sent(monkeypatch):
    """Record what would be published to the broker instead of publishing it."""
    calls: list[tuple] = []
    monkeypatch.setattr(
        heartbeat, "apply_async", lambda args=(), kwargs=None, **o: calls.append(args)
    )
    return calls


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_enqueues_nothing(sent):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(heartbeat)
        raise RuntimeError("the business change failed")
    assert sent == []


@pytest.mark.django_db(transaction=True)
def test_committed_transaction_enqueues_once_after_commit(sent):
    with transaction.atomic():
        enqueue_on_commit(heartbeat)
        assert sent == []  # not while the transaction is open
    assert sent == [()]


def test_celery_is_configured_for_safety():
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit > conf.task_soft_time_limit > 0
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert "worker-heartbeat" in conf.beat_schedule


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real `celery worker` process on a private queue, against the test database and Redis."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "psa.settings.test",
        "DATABASE_URL": _database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "psa", "worker", "--pool", "solo",
         "--queues", queue, "--loglevel", "INFO", "--without-mingle", "--without-gossip"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        yield queue
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
        print(output)  # shown by pytest if the test failed  # noqa: T201


def _wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.worker
def test_a_real_worker_runs_tasks_to_completion(celery_worker_process):
    queue = celery_worker_process
    assert cache.get(HEARTBEAT_KEY) is None
    heartbeat.apply_async(queue=queue)
    assert _wait_for(lambda: cache.get(HEARTBEAT_KEY) is not None), "worker never ran the task"
    assert timezone.now() - cache.get(HEARTBEAT_KEY) < dt.timedelta(minutes=5)

    # The worker also reaches the test database: it deletes the expired session we wrote.
    Session.objects.create(
        session_key="expired", session_data="x", expire_date=timezone.now() - dt.timedelta(days=1)
    )
    Session.objects.create(
        session_key="current", session_data="x", expire_date=timezone.now() + dt.timedelta(days=1)
    )
    clear_expired_sessions.apply_async(queue=queue)
    assert _wait_for(lambda: not Session.objects.filter(session_key="expired").exists())
    assert Session.objects.filter(session_key="current").exists()


def test_importing_the_project_does_not_load_the_settings():
    """The dev tools import psa before they start the embedded services; reading Celery's
    configuration at import time would load Django's settings too early (and fail)."""
    out = subprocess.run(
        [sys.executable, "-c", "import psa; from django.conf import settings; "
         "print(settings.configured)"],
        cwd=settings.BASE_DIR, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "False"
