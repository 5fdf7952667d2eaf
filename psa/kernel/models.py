"""The kernel's models: the user account, the audit log, API tokens, idempotency records and
the delivery machinery (outbound webhooks) that every area shares."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who logs in with an e-mail address. Roles are Django groups (psa.kernel.roles)."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)
    # The hours a week this person is expected to work: auto-approval leaves a week above it
    # for a person to look at (timesheets' approval policy, "within capacity").
    weekly_capacity_hours = models.DecimalField(
        "weekly capacity (hours)",
        max_digits=5,
        decimal_places=2,
        default=Decimal(40),
        help_text="Hours a week this person is expected to work (part-time: fewer).",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        ordering = ["first_name", "last_name", "email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekly_capacity_hours__gt=0)
                & models.Q(weekly_capacity_hours__lte=168),
                name="user_weekly_capacity_range",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email


class AuditEvent(models.Model):
    """Who did what to which object, when, and why — a person or an automated job.

    Append-only: written by services in the same transaction as the change it describes.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    # For automated decisions: "policy:auto-approve", "job:billing-run", "system".
    actor_label = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(actor__isnull=False) | ~models.Q(actor_label=""),
                name="audit_event_has_actor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor or self.actor_label} {self.action}"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self, now: object) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A personal API token: named, scoped, optionally expiring, revocable.

    Only a SHA-256 hash of the token is stored; the token itself is shown once, at creation.
    A token acts as its user: it can never do more than the user's roles allow, and its
    scopes narrow that further.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyRecord(models.Model):
    """The first response to a POST with an Idempotency-Key, replayed for 24 hours."""

    owner = models.CharField(max_length=80)  # "token:<id>" or "user:<id>"
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path and body
    done = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERING = "delivering", "Delivering"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead-lettered"


class DeliveryMessage(models.Model):
    """What every reliably delivered message has (see psa.kernel.delivery)."""

    topic = models.CharField(max_length=60)
    payload = models.JSONField()
    # Sent as the Idempotency-Key header: the receiver can drop a redelivery.
    idempotency_key = models.CharField(max_length=100, unique=True)
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.topic} {self.idempotency_key} ({self.status})"


class DeliveryAttempt(models.Model):
    """The delivery log: one row per HTTP attempt of a message (see psa.kernel.delivery)."""

    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"


class WebhookSubscription(models.Model):
    """An API client's request to be told, by a signed HTTP POST, when events happen."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    # HMAC-SHA256 key for the X-Signature header, generated for the subscriber.
    secret = models.CharField(max_length=100)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.events)})"


class WebhookDelivery(DeliveryMessage):
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=40, db_index=True)

    class Meta(DeliveryMessage.Meta):
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]


class WebhookAttempt(DeliveryAttempt):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")


class MailMessage(DeliveryMessage):
    """One outgoing e-mail in the durable outbox (psa.kernel.mail): written in the same
    transaction as the business change, sent by whichever worker claims it first.

    ``idempotency_key`` names the message (``invoice:42:send``, ``dunning:42:3``): a second
    request for the same message finds the row instead of sending twice. ``topic`` names the
    renderer that builds the e-mail from ``payload`` at send time (a PDF is rendered then, from
    the document as it is). ``label`` is what a person reads on the operations page.
    """

    label = models.CharField(max_length=200, blank=True)

    class Meta(DeliveryMessage.Meta):
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
