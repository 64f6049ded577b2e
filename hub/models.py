"""The hub's data: where messages arrive (endpoints), conversations, their timeline, attachments,
teams, the local outbox and outgoing webhooks."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.prepared import PreparedSave


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    CHAT = "chat", _("Live chat")
    API = "api", _("API")


class Team(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="hub_teams", verbose_name=_("members")
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
        verbose_name=_("team lead"),
        help_text=_("Escalated conversations go to the lead when there is no escalation team."),
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _new_public_key() -> str:
    return secrets.token_urlsafe(18)


class Endpoint(models.Model):
    """An address the hub receives on: mailbox, phone number, website widget, API source."""

    name = models.CharField(_("name"), max_length=120)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    address = models.CharField(
        _("address"),
        max_length=320,
        help_text=_("Mailbox address, E.164 phone number, widget key or API source key."),
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="endpoints", verbose_name=_("team")
    )
    public_key = models.CharField(max_length=64, unique=True, default=_new_public_key)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("endpoint")
        verbose_name_plural = _("endpoints")
        ordering = ["channel", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "address"], name="hub_endpoint_unique_channel_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_channel_display()}: {self.address})"


class Temperature(models.TextChoices):
    """A conversation's temperature level (a message's own label is one of
    ``understanding.TEMPERATURES``: calm, urgent, annoyed, angry)."""

    CALM = "calm", _("Calm")
    WARM = "warm", _("Warm")
    HOT = "hot", _("Hot")


def _new_reply_token() -> str:
    return secrets.token_hex(8)


class Conversation(PreparedSave, models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        SNOOZED = "snoozed", _("Snoozed")
        RESOLVED = "resolved", _("Resolved")

    # Indexes of a conversation are rewritten on most updates (the clock and activity columns
    # are indexed), so none is kept twice: contact and team lead composite indexes below.
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.PROTECT, related_name="conversations", db_index=False
    )
    endpoint = models.ForeignKey(
        Endpoint,
        on_delete=models.PROTECT,
        related_name="conversations",
        help_text=_("The endpoint replies currently go out through."),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
        verbose_name=_("assignee"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        related_name="conversations",
        verbose_name=_("team"),
        db_index=False,
    )
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    # Unique through Meta.constraints: looked up only by equality, so without the extra LIKE
    # (pattern-ops) index PostgreSQL would get for ``unique=True``.
    reply_token = models.CharField(max_length=32, default=_new_reply_token)
    priority = models.PositiveSmallIntegerField(_("priority"), default=0)
    # How heated the conversation is (hub.services.temperature): a level, the score it comes
    # from (0-100) and the reasons, recomputed on inbound, on a reply and at SLA warning/breach.
    temperature = models.CharField(
        _("temperature"), max_length=8, choices=Temperature.choices, default=Temperature.CALM
    )
    temperature_score = models.PositiveSmallIntegerField(_("temperature score"), default=0)
    temperature_reasons = models.JSONField(default=list, blank=True)
    # The TTL clock (hub.services.clock): since when the person waits for an answer, which TTL
    # runs, when the warning is due and when the answer is due. While paused (pending, snoozed)
    # the open time left is kept in ``clock_remaining`` and the due times are empty.
    waiting_since = models.DateTimeField(null=True, blank=True)
    clock_kind = models.CharField(max_length=20, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    clock_remaining = models.DurationField(null=True, blank=True)
    sla_record = models.ForeignKey(
        "SlaRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # The earliest moment the SLA sweep has something to do here (derived in save()).
    next_check_at = models.DateTimeField(null=True, blank=True)
    # Set when this conversation's messages were moved into another one (a late message showed
    # that both are one thread, or an agent merged them); it stays, resolved, as a pointer.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_conversations",
    )
    last_activity_at = models.DateTimeField(default=timezone.now)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-last_activity_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reply_token"], name="hub_conv_reply_token_uniq"),
        ]
        indexes = [
            models.Index(fields=["-last_activity_at", "-id"], name="hub_conv_activity_idx"),
            # With the id, the lists' full order (ties of last_activity_at are common after an
            # import): the scan stops after one page instead of sorting every tied row.
            models.Index(fields=["status", "-last_activity_at", "-id"], name="hub_conv_status_idx"),
            models.Index(fields=["team", "-last_activity_at", "-id"], name="hub_conv_team_idx"),
            models.Index(
                fields=["contact", "endpoint", "-last_activity_at"], name="hub_conv_contact_idx"
            ),
            models.Index(fields=["updated_at"], name="hub_conv_updated_idx"),
            # The inbox sorted by temperature: hottest first, then by last activity.
            models.Index(
                fields=["-temperature_score", "-last_activity_at", "-id"],
                name="hub_conv_temperature_idx",
            ),
            models.Index(
                fields=["due_at"], name="hub_conv_due_idx", condition=Q(due_at__isnull=False)
            ),
            models.Index(
                fields=["next_check_at"],
                name="hub_conv_next_check_idx",
                condition=Q(next_check_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"Conversation #{self.pk}"

    def save(self, *args, **kwargs):
        self.next_check_at = self.derive_next_check()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "next_check_at"}
        super().save(*args, **kwargs)

    def derive_next_check(self) -> datetime | None:
        """When the sweep must look at this conversation next: the pending warning or expiry of
        the running clock, the resolution deadline, the end of a snooze."""
        moments = []
        if self.waiting_since and self.clock_remaining is None:
            if self.warn_at and not self.warned_at:
                moments.append(self.warn_at)
            if self.due_at and not self.breached_at:
                moments.append(self.due_at)
        if (
            self.resolution_due_at
            and not self.resolution_breached_at
            and self.status != self.Status.RESOLVED
        ):
            moments.append(self.resolution_due_at)
        if self.status == self.Status.SNOOZED and self.snoozed_until:
            moments.append(self.snoozed_until)
        return min(moments) if moments else None


class Message(PreparedSave, models.Model):
    """One item of a conversation's timeline: a message in or out, an internal note, or an event."""

    class Direction(models.TextChoices):
        INBOUND = "in", _("Inbound")
        OUTBOUND = "out", _("Outbound")

    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        NOTE = "note", _("Internal note")
        EVENT = "event", _("Event")

    class DeliveryStatus(models.TextChoices):
        RECEIVED = "received", _("Received")
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")
        NOT_APPLICABLE = "", _("Not applicable")

    # Message indexes are few on purpose: every inbound message, reply and timeline event writes
    # each of them. The conversation is covered by the timeline index; the optional references
    # are indexed only where set (an event or a note has none of them).
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    direction = models.CharField(max_length=3, choices=Direction.choices, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MESSAGE)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    endpoint = models.ForeignKey(
        Endpoint,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
        db_index=False,
    )
    sender_identity = models.ForeignKey(
        "crm.Identity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        db_index=False,
    )
    recipient_identity = models.ForeignKey(
        "crm.Identity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="authored_messages",
        db_index=False,
    )
    event_type = models.CharField(max_length=40, blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True, help_text=_("Sanitised HTML."))
    provider_message_id = models.CharField(max_length=255, blank=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    delivery_status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, blank=True, default=""
    )
    delivery_error = models.TextField(blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    is_auto_reply = models.BooleanField(default=False)
    # A delivery failure report (e.g. an email bounce), not a message the person wrote.
    is_bounce = models.BooleanField(default=False, db_default=False)
    metadata = models.JSONField(default=dict, blank=True)
    # What the understanding layer read in an inbound message: ``understanding.Analysis.as_dict()``
    # (language, questions, temperature, signals, version); null for everything else.
    analysis = models.JSONField(null=True, blank=True)
    occurred_at = models.DateTimeField(
        default=timezone.now, help_text=_("When the message was sent or received.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["occurred_at", "id"]
        constraints = [
            # Inbound idempotency: a provider's id of a received message is stored once per
            # endpoint. Outbound ids are whatever a remote answered (an integrator may repeat
            # one): not unique, so recording them can never fail a delivery that went out.
            models.UniqueConstraint(
                fields=["endpoint", "provider_message_id"],
                condition=~Q(provider_message_id="") & Q(direction="in"),
                name="hub_message_unique_inbound_provider_id",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "occurred_at", "id"], name="hub_msg_timeline_idx"),
            models.Index(
                fields=["provider_message_id"],
                name="hub_msg_provider_id_idx",
                condition=~Q(provider_message_id=""),
            ),
            models.Index(
                fields=["endpoint"],
                name="hub_msg_endpoint_idx",
                condition=Q(endpoint__isnull=False),
            ),
            models.Index(
                fields=["sender_identity"],
                name="hub_msg_sender_idx",
                condition=Q(sender_identity__isnull=False),
            ),
            models.Index(
                fields=["recipient_identity"],
                name="hub_msg_recipient_idx",
                condition=Q(recipient_identity__isnull=False),
            ),
            models.Index(
                fields=["author"], name="hub_msg_author_idx", condition=Q(author__isnull=False)
            ),
            models.Index(
                fields=["next_attempt_at"],
                name="hub_msg_queued_idx",
                condition=Q(delivery_status="queued"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.direction} #{self.pk}"


class MessageReference(PreparedSave, models.Model):
    """A provider message id that a stored message answers (an email's In-Reply-To and
    References). Threading looks both ways through these rows: a message joins the thread of a
    stored message it refers to, or else the thread of the same person, on the same endpoint,
    whose message refers to it (the reply arrived first) or to the same earlier message, so a
    person's threads do not depend on the order in which their mail arrives."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="references")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    provider_message_id = models.CharField(max_length=255)

    class Meta:
        indexes = [
            models.Index(fields=["channel", "provider_message_id"], name="hub_msgref_id_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "provider_message_id"], name="hub_msgref_unique"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.message_id} -> {self.provider_message_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}/{filename}"


class Attachment(PreparedSave, models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=500)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    content_id = models.CharField(max_length=255, blank=True, help_text=_("For inline images."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class LocalDelivery(models.Model):
    """What an adapter would have sent when its provider has no credentials: the local outbox."""

    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="local_deliveries"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipient = models.CharField(max_length=320)
    subject = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("local outbox item")
        verbose_name_plural = _("local outbox")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}"


class WebhookSubscription(models.Model):
    """An integrator's URL that receives signed events."""

    class Event(models.TextChoices):
        MESSAGE_CREATED = "message.created", "message.created"
        CONVERSATION_CREATED = "conversation.created", "conversation.created"
        CONVERSATION_UPDATED = "conversation.updated", "conversation.updated"

    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, default=secrets.token_hex)
    events = models.JSONField(default=list, help_text=_("Event types; empty means all."))
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Failed delivery attempts in a row (any event); a success resets it. At the limit
    # (HUB["WEBHOOK_DISABLE_AFTER_FAILURES"]) the subscription is disabled: see
    # hub.services.webhooks.
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why it was disabled"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not sent (subscription disabled)")

    # No database constraint: a delivery row is written in the transaction of the change it
    # reports (an inbound message, a reply), from a per-process cache of the subscriptions that
    # may still list one deleted a moment ago in another process. A constraint would roll the
    # whole message back; without it the row is written, and its task drops it (the subscription
    # is gone). Deleting a subscription deletes its deliveries (Django's cascade).
    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
    )
    event_id = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When a worker should next try it; the stalled-task sweep reads only overdue pending rows.
    next_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="hub_webhook_pending_idx",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.subscription_id} ({self.status})"


class BusinessHours(models.Model):
    """A team's opening hours: a weekly schedule in a time zone, and holidays."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="business_hours")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Rome")
    weekly = models.JSONField(
        _("weekly schedule"),
        default=dict,
        help_text=_('Opening intervals per weekday, e.g. {"mon": [["09:00", "18:00"]], ...}.'),
    )

    class Meta:
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")

    def __str__(self) -> str:
        return f"{self.team} ({self.time_zone})"

    def clean(self):
        from django.core.exceptions import ValidationError

        from hub.business_hours import InvalidSchedule, Schedule

        try:
            Schedule.from_config(self.time_zone, self.weekly)
        except InvalidSchedule as exc:
            raise ValidationError({"weekly": str(exc)}) from exc


class Holiday(models.Model):
    business_hours = models.ForeignKey(
        BusinessHours, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["business_hours", "date"], name="hub_holiday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class TtlPolicy(models.Model):
    """How long a channel's (or one endpoint's) users will wait, and what happens when that
    cannot be met. An endpoint's policy wins over its channel's."""

    class HandoffMode(models.TextChoices):
        OFF = "off", _("Never")
        ON_REQUEST = "on_request", _("When an agent asks")
        AUTOMATIC = "automatic", _("Automatically, before the TTL expires")

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    endpoint = models.OneToOneField(
        Endpoint,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="ttl_policy",
        help_text=_("Empty: the default policy of the channel."),
    )
    first_response = models.DurationField(_("first response TTL"), null=True, blank=True)
    next_response = models.DurationField(_("next response TTL"), null=True, blank=True)
    resolution = models.DurationField(_("resolution TTL"), null=True, blank=True)
    warning_percent = models.PositiveSmallIntegerField(
        _("warn at % of the TTL"), default=75, help_text=_("Warn when this share has elapsed.")
    )
    business_hours_only = models.BooleanField(
        _("count business hours only"),
        default=False,
        help_text=_("Use the team's business hours; otherwise the clock runs 24/7."),
    )
    handoff_mode = models.CharField(
        _("handoff"), max_length=12, choices=HandoffMode.choices, default=HandoffMode.OFF
    )
    handoff_channels = models.JSONField(
        _("handoff channels"),
        default=list,
        blank=True,
        help_text=_('Channels to hand the thread to, in order of preference, e.g. ["email"].'),
    )
    escalation_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("TTL policy")
        verbose_name_plural = _("TTL policies")
        ordering = ["channel", "endpoint"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel"],
                condition=Q(endpoint__isnull=True),
                name="hub_ttl_policy_one_default_per_channel",
            )
        ]

    def __str__(self) -> str:
        target = self.endpoint.name if self.endpoint_id else self.get_channel_display()
        return f"TTL policy: {target}"


class MessageTemplate(models.Model):
    """A text the hub sends on its own (e.g. the expectation message), per language. Rendered
    with Django's template engine: {{ name }}, {{ address }}, {{ due_time }}, {{ channel }}."""

    key = models.CharField(_("key"), max_length=60)
    language = models.CharField(_("language"), max_length=12)
    text = models.TextField(_("text"))

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["key", "language"]
        constraints = [
            models.UniqueConstraint(fields=["key", "language"], name="hub_template_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} [{self.language}]"


class SlaRecord(PreparedSave, models.Model):
    """One run of a TTL clock, kept for reports: how long the person waited, whether the TTL
    was met, warned, breached, handed off."""

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        NEXT_RESPONSE = "next_response", _("Next response")
        RESOLUTION = "resolution", _("Resolution")

    class Outcome(models.TextChoices):
        RUNNING = "", _("Running")
        MET = "met", _("Met")
        BREACHED = "breached", _("Breached")
        MERGED = "merged", _("Closed by a merge")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="sla_records"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who answered (or the assignee when it breached)."),
    )
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    waited = models.DurationField(null=True, blank=True, help_text=_("Counted time waited."))
    warned = models.BooleanField(default=False)
    breached = models.BooleanField(default=False)
    breached_at = models.DateTimeField(null=True, blank=True)
    handed_off = models.BooleanField(default=False)
    # Decided when the clock stops, from the stop time and the due time (hub.services.clock):
    # whatever the sweep did or did not do before. A clock closed by a merge before its due time
    # is neither met nor breached (the wait goes on in the other conversation's clock).
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, blank=True, default=""
    )

    class Meta:
        verbose_name = _("SLA record")
        verbose_name_plural = _("SLA records")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["started_at"], name="hub_sla_started_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.conversation_id} {self.started_at:%Y-%m-%d %H:%M}"


class TemperaturePolicy(models.Model):
    """A rule of the priority policy: when a conversation reaches ``level``, its priority becomes
    at least ``minimum_priority``. A rule may be limited to a team or an endpoint; every active
    rule that matches applies (the highest minimum wins). Priority is only ever raised."""

    level = models.CharField(
        _("temperature"), max_length=8, choices=[c for c in Temperature.choices if c[0] != "calm"]
    )
    minimum_priority = models.PositiveSmallIntegerField(_("priority at least"))
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("team"),
        help_text=_("Empty: every team."),
    )
    endpoint = models.ForeignKey(
        Endpoint,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("endpoint"),
        help_text=_("Empty: every endpoint."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("temperature priority rule")
        verbose_name_plural = _("temperature priority rules")
        ordering = ["level", "team", "endpoint"]

    def __str__(self) -> str:
        return f"{self.get_level_display()} -> priority >= {self.minimum_priority}"


from hub.prompt_models import Prompt  # noqa: E402,F401  (its own module; registered here)
