"""Job runs: every scheduled job records what it did, so finance and admins can see it.

    with job_run("billing-run") as run:
        for item in items:
            try:
                ...; run.processed()
            except DomainError as exc:
                run.failed(item, exc)

A run that raises is recorded as failed with its traceback, and the exception propagates (the
task's retry policy still applies). Counts are written once, at the end, in one UPDATE.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from psa.automation.models import JobRun, JobRunStatus
from psa.kernel import correlation
from psa.kernel.errors import DomainError

MAX_ERRORS_KEPT = 50
MAX_WAITS_KEPT = 300
logger = logging.getLogger(__name__)


@dataclass
class ItemOutcome:
    failed: bool = False
    error: BaseException | None = None


@dataclass
class RunRecorder:
    run: JobRun
    counts: dict[str, int] = field(
        default_factory=lambda: {"processed": 0, "skipped": 0, "failed": 0}
    )
    errors: list[dict[str, str]] = field(default_factory=list)
    waits: list[dict[str, str]] = field(default_factory=list)

    def processed(self, n: int = 1) -> None:
        self.counts["processed"] += n

    def skipped(self, n: int = 1) -> None:
        self.counts["skipped"] += n

    def waits_for_person(self, item: Any, reason: str) -> None:
        """Count an item left for a person, with the reason: the rule that failed, with its
        figures ("42.5 h in the week > capacity 40 h")."""
        self.counts["skipped"] += 1
        if len(self.waits) < MAX_WAITS_KEPT:
            self.waits.append({"item": str(item)[:200], "reason": reason[:1000]})

    def failed(self, item: Any, error: BaseException | str) -> None:
        """Count a failed item; an exception keeps its traceback, a string is the reason."""
        self.counts["failed"] += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            is_exc = isinstance(error, BaseException)
            self.errors.append(
                {
                    "item": str(item)[:200],
                    "error": (f"{type(error).__name__}: {error}" if is_exc else error)[:1000],
                    "traceback": "".join(traceback.format_exception(error))[-4000:]
                    if is_exc
                    else "",
                }
            )

    @contextlib.contextmanager
    def item(self, label: str, *, record: bool = True) -> Iterator[ItemOutcome]:
        """Do one item of the run; a failure is counted and the run goes on to the next.

        with run.item(f"invoice {pk}") as item:
            ...
        if item.failed:
            continue

        ``record=False``: the caller retries the work in smaller items when this one fails
        (an entity-wide billing run, then one run per customer), so the failure is logged and
        handed back in ``item.error`` but not counted.
        """
        outcome = ItemOutcome()
        try:
            yield outcome
        except DomainError as exc:  # a refusal the area explains (its message says why)
            outcome.failed, outcome.error = True, exc
            if record:
                self.failed(label, exc)
        except Exception as exc:
            # The one broad catch of the jobs, on purpose: an unexpected error in one item (one
            # customer's invoice) must not stop the run for every other item. It is recorded on
            # the run with its traceback (the operations page shows it) and logged as an error.
            outcome.failed, outcome.error = True, exc
            logger.exception("job %s: %s failed", self.run.job, label)
            if record:
                self.failed(label, exc)


@contextlib.contextmanager
def job_run(job: str) -> Iterator[RunRecorder]:
    # A run started by beat has no request: it gets its own correlation id.
    token = correlation.set_id(None) if not correlation.get() else None
    run = JobRun.objects.create(
        job=job,
        started_at=timezone.now(),
        correlation_id=correlation.get(),
        worker=socket.gethostname()[:200],
    )
    recorder = RunRecorder(run=run)
    try:
        yield recorder
    except BaseException as exc:
        recorder.failed("(the run)", exc)
        _finish(recorder, JobRunStatus.FAILED)
        raise
    else:
        status = JobRunStatus.PARTIAL if recorder.counts["failed"] else JobRunStatus.SUCCEEDED
        _finish(recorder, status)
    finally:
        if token is not None:
            correlation.reset(token)


def _finish(recorder: RunRecorder, status: str) -> None:
    JobRun.objects.filter(pk=recorder.run.pk).update(
        status=status,
        finished_at=timezone.now(),
        errors=recorder.errors,
        waits=recorder.waits,
        **recorder.counts,
    )
