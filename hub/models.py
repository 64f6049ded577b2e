"""The hub's data: where messages arrive (endpoints), conversations, their timeline, attachments,
teams, the local outbox and outgoing webhooks."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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


def _new_reply_token() -> str:
    return secrets.token_hex(8)


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        SNOOZED = "snoozed", _("Snoozed")
        RESOLVED = "resolved", _("Resolved")

    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.PROTECT, related_name="conversations"
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
        Team, on_delete=models.PROTECT, related_name="conversations", verbose_name=_("team")
    )
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    reply_token = models.CharField(max_length=32, unique=True, default=_new_reply_token)
    # The TTL clock: since when the person waits for an answer, and when that answer is due.
    waiting_since = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
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
        indexes = [
            models.Index(fields=["-last_activity_at", "-id"], name="hub_conv_activity_idx"),
            models.Index(fields=["status", "-last_activity_at"], name="hub_conv_status_idx"),
            models.Index(fields=["team", "-last_activity_at"], name="hub_conv_team_idx"),
            models.Index(
                fields=["contact", "endpoint", "-last_activity_at"], name="hub_conv_contact_idx"
            ),
            models.Index(fields=["updated_at"], name="hub_conv_updated_idx"),
            models.Index(
                fields=["due_at"], name="hub_conv_due_idx", condition=Q(due_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"Conversation #{self.pk}"


class Message(models.Model):
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

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MESSAGE)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    endpoint = models.ForeignKey(
        Endpoint, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    sender_identity = models.ForeignKey(
        "crm.Identity", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    recipient_identity = models.ForeignKey(
        "crm.Identity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="authored_messages",
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
    metadata = models.JSONField(default=dict, blank=True)
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
            models.UniqueConstraint(
                fields=["endpoint", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="hub_message_unique_provider_id",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "occurred_at", "id"], name="hub_msg_timeline_idx"),
            models.Index(fields=["provider_message_id"], name="hub_msg_provider_id_idx"),
            models.Index(
                fields=["next_attempt_at"],
                name="hub_msg_queued_idx",
                condition=Q(delivery_status="queued"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.direction} #{self.pk}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}/{filename}"


class Attachment(models.Model):
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

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
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

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.subscription_id} ({self.status})"
