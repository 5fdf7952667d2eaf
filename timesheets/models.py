"""Time logged by people on projects."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models


class EntryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class TimeEntryQuerySet(models.QuerySet["TimeEntry"]):
    def for_person(self, person: object) -> TimeEntryQuerySet:
        return self.filter(person=person)

    def in_period(self, start: object, end: object) -> TimeEntryQuerySet:
        """Entries dated from ``start`` to ``end`` inclusive."""
        return self.filter(date__gte=start, date__lte=end)


class TimeEntry(models.Model):
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="time_entries"
    )
    project = models.ForeignKey(
        "projects.Project", on_delete=models.PROTECT, related_name="time_entries"
    )
    date = models.DateField()
    hours = models.DecimalField(max_digits=4, decimal_places=2)
    note = models.TextField(blank=True)
    billable = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=EntryStatus.choices, default=EntryStatus.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = TimeEntryQuerySet.as_manager()

    class Meta:
        ordering = ["date", "id"]
        verbose_name_plural = "time entries"
        indexes = [
            models.Index(fields=["person", "date"]),
            models.Index(fields=["project", "status"]),
        ]
        constraints = [
            # Hours are a positive Decimal of at most one day.
            models.CheckConstraint(
                condition=models.Q(hours__gt=Decimal(0)) & models.Q(hours__lte=Decimal(24)),
                name="time_entry_hours_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.date} {self.hours} h on {self.project.code}"
