from __future__ import annotations

import copy

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.identities import InvalidIdentity, normalise
from crm.models import Company, Contact, Identity, LanguageSource
from crm.services import choose_language
from hub.api.fields import WindowDateTimeField, received_latest
from hub.api.understanding import AnalysisSerializer, TemperatureReasonSerializer
from hub.models import (
    BusinessHours,
    Channel,
    Conversation,
    Endpoint,
    Holiday,
    Message,
    Team,
    Temperature,
    TtlPolicy,
    WebhookSubscription,
)

User = get_user_model()


def _has_nul(value) -> bool:
    """Whether a JSON value holds a NUL character anywhere (PostgreSQL jsonb rejects it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def validate_json_object(value, what: str):
    if not isinstance(value, dict):
        raise serializers.ValidationError(f"{what} must be an object.")
    if _has_nul(value):
        raise serializers.ValidationError("Null characters are not allowed.")
    return value


class IdentitySerializer(serializers.ModelSerializer):
    is_verified = serializers.BooleanField(read_only=True)

    class Meta:
        model = Identity
        fields = ["id", "kind", "value", "display_name", "is_verified", "created_at"]
        read_only_fields = ["id", "is_verified", "created_at"]
        # Uniqueness is checked by the service on the normalised value (409 when taken).
        validators = []

    def validate(self, attrs):
        # A partial update (PATCH of a contact) does not require the fields: an identity does.
        missing = [name for name in ("kind", "value") if name not in attrs]
        if missing:
            raise serializers.ValidationError(
                {name: [self.fields[name].error_messages["required"]] for name in missing}
            )
        try:
            attrs["value"] = normalise(attrs["kind"], attrs["value"])
        except InvalidIdentity as exc:
            raise serializers.ValidationError({"value": [str(exc)]}) from exc
        return attrs


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "domain", "attributes", "created_at"]
        read_only_fields = ["id", "created_at"]


class ContactSerializer(serializers.ModelSerializer):
    identities = IdentitySerializer(many=True, required=False)
    company = serializers.PrimaryKeyRelatedField(
        queryset=Company.objects.all(), allow_null=True, required=False
    )

    # "" until a language is chosen or learned: in the schema's enum too.
    language_source = serializers.ChoiceField(
        choices=[("", "none"), *LanguageSource.choices],
        read_only=True,
        help_text="explicit (chosen), learned, or empty.",
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "company",
            "language",
            "language_source",
            "language_confidence",
            "attributes",
            "identities",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "language_source",
            "language_confidence",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "language": {
                "help_text": "ISO 639-1 code. Written here, it is a choice (language_source "
                "explicit) that wins over the language learned from the person's messages."
            },
        }

    def validate_attributes(self, value):
        return validate_json_object(value, "Attributes")

    def update(self, instance, validated_data):
        if "identities" in validated_data:
            raise serializers.ValidationError(
                {"identities": ["Add identities with POST /contacts/{id}/identities/."]}
            )
        language = validated_data.pop("language", None)
        instance = super().update(instance, validated_data)
        if language is not None and (
            language != instance.language or instance.language_source != "explicit"
        ):
            choose_language(instance, language)  # written here: a choice
        return instance


# Read-only serializers below declare their fields instead of introspecting the model: they run
# on every response (and inside every list), and a ModelSerializer rebuilds its fields from the
# model for each instance it is created for.


# The read serializers below that every list, timeline and ingest response goes through
# (conversation, message, identity, attachment) write their representation by hand: DRF builds
# (deep-copies) every declared field for each serializer instance and then calls one
# ``to_representation`` per field, which cost more than the rest of an ingest request. The
# declared fields stay, for the OpenAPI schema; tests/test_api_representation.py checks that the
# hand-written output equals DRF's generic one field by field.


def when(value, zone=None) -> str | None:
    """A datetime as DRF's ``DateTimeField`` gives it: ISO 8601 in the current time zone,
    UTC written with ``Z``. Callers formatting many values pass ``zone`` (the current time zone,
    looked up once: the lookup is a context-local read, dearer than the formatting)."""
    if not value:
        return None
    zone = zone or timezone.get_current_timezone()
    if timezone.is_naive(value):
        value = timezone.make_aware(value, zone)
    elif value.tzinfo is not zone:
        value = value.astimezone(zone)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _choice(value):
    return value if value in ("", None) else str(value)


def _int(value) -> int | None:
    return None if value is None else int(value)


def _id(source: str, **kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(source=source, read_only=True, allow_null=True, **kwargs)


def _when(**kwargs) -> serializers.DateTimeField:
    return serializers.DateTimeField(read_only=True, allow_null=True, **kwargs)


class IdentityReadSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=Identity.Kind.choices, read_only=True)
    value = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    is_verified = serializers.BooleanField(read_only=True)
    created_at = _when()

    def to_representation(self, instance):
        return identity_representation(instance)


def identity_representation(identity: Identity | None) -> dict | None:
    if identity is None:
        return None
    return {
        "id": identity.pk,
        "kind": _choice(identity.kind),
        "value": str(identity.value),
        "display_name": str(identity.display_name),
        "is_verified": bool(identity.is_verified),
        "created_at": when(identity.created_at),
    }


class ContactBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class EndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = Endpoint
        fields = ["id", "name", "channel", "address", "team", "is_active"]


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "slug"]


class ConversationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    contact = ContactBriefSerializer(read_only=True)
    endpoint = _id("endpoint_id")
    channel = serializers.ChoiceField(choices=Channel.choices, read_only=True)
    status = serializers.ChoiceField(choices=Conversation.Status.choices, read_only=True)
    assignee = _id("assignee_id")
    team = _id("team_id")
    subject = serializers.CharField(read_only=True)
    priority = serializers.IntegerField(read_only=True)
    temperature = serializers.ChoiceField(
        choices=Temperature.choices,
        read_only=True,
        help_text="How heated the conversation is: calm, warm (from score 30), hot (from 60).",
    )
    temperature_score = serializers.IntegerField(read_only=True, help_text="0-100.")
    temperature_reasons = TemperatureReasonSerializer(many=True, read_only=True)
    clock_kind = serializers.CharField(
        read_only=True, help_text="first_response, next_response or empty"
    )
    waiting_since = _when()
    warn_at = _when()
    due_at = _when(help_text="When the running TTL expires.")
    breached_at = _when()
    snoozed_until = _when()
    last_activity_at = _when()
    last_inbound_at = _when()
    last_outbound_at = _when()
    created_at = _when()
    updated_at = _when()
    resolved_at = _when()
    merged_into = _id(
        "merged_into_id",
        help_text="Set when this conversation's messages were moved into that conversation.",
    )

    def to_representation(self, instance):
        return conversation_representation(instance)


def conversation_representation(conversation: Conversation) -> dict:
    contact = conversation.contact
    zone = timezone.get_current_timezone()
    return {
        "id": conversation.pk,
        "contact": None if contact is None else {"id": contact.pk, "name": str(contact.name)},
        "endpoint": _int(conversation.endpoint_id),
        "channel": _choice(conversation.channel),
        "status": _choice(conversation.status),
        "assignee": _int(conversation.assignee_id),
        "team": _int(conversation.team_id),
        "subject": str(conversation.subject),
        "priority": int(conversation.priority),
        "temperature": _choice(conversation.temperature),
        "temperature_score": int(conversation.temperature_score),
        "temperature_reasons": [
            {"code": str(reason.get("code", "")), "points": int(reason.get("points", 0))}
            for reason in conversation.temperature_reasons or ()
        ],
        "clock_kind": str(conversation.clock_kind),
        "waiting_since": when(conversation.waiting_since, zone),
        "warn_at": when(conversation.warn_at, zone),
        "due_at": when(conversation.due_at, zone),
        "breached_at": when(conversation.breached_at, zone),
        "snoozed_until": when(conversation.snoozed_until, zone),
        "last_activity_at": when(conversation.last_activity_at, zone),
        "last_inbound_at": when(conversation.last_inbound_at, zone),
        "last_outbound_at": when(conversation.last_outbound_at, zone),
        "created_at": when(conversation.created_at, zone),
        "updated_at": when(conversation.updated_at, zone),
        "resolved_at": when(conversation.resolved_at, zone),
        "merged_into": _int(conversation.merged_into_id),
    }


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    filename = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    content_id = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField())
    def get_url(self, obj) -> str:
        return attachment_url(obj, self.context.get("request"))

    def to_representation(self, instance):
        return attachment_representation(instance, self.context.get("request"))


def attachment_url(attachment, request) -> str:
    url = reverse("attachment-download", args=[attachment.pk])
    return request.build_absolute_uri(url) if request else url


def attachment_representation(attachment, request) -> dict:
    return {
        "id": attachment.pk,
        "filename": str(attachment.filename),
        "content_type": str(attachment.content_type),
        "size": int(attachment.size),
        "content_id": str(attachment.content_id),
        "url": attachment_url(attachment, request),
    }


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    conversation = _id("conversation_id")
    direction = serializers.ChoiceField(
        choices=Message.Direction.choices,
        read_only=True,
        allow_blank=True,
        help_text="`in` or `out` for a message; empty for a note or an event (`kind`).",
    )
    kind = serializers.ChoiceField(choices=Message.Kind.choices, read_only=True)
    channel = serializers.ChoiceField(choices=Channel.choices, read_only=True)
    endpoint = _id("endpoint_id")
    sender = IdentityReadSerializer(source="sender_identity", read_only=True, allow_null=True)
    recipient = IdentityReadSerializer(source="recipient_identity", read_only=True, allow_null=True)
    author = _id("author_id")
    event_type = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)
    html = serializers.CharField(read_only=True, help_text="Sanitised HTML.")
    provider_message_id = serializers.CharField(read_only=True)
    delivery_status = serializers.ChoiceField(
        choices=Message.DeliveryStatus.choices, read_only=True
    )
    delivery_error = serializers.CharField(read_only=True)
    is_auto_reply = serializers.BooleanField(read_only=True)
    is_bounce = serializers.BooleanField(
        read_only=True, help_text="A delivery failure report (an email bounce)."
    )
    metadata = serializers.JSONField(read_only=True)
    analysis = AnalysisSerializer(
        read_only=True,
        allow_null=True,
        help_text="What the hub read in an inbound message (null for anything else).",
    )
    attachments = AttachmentSerializer(many=True, read_only=True)
    occurred_at = _when()
    created_at = _when()

    def to_representation(self, instance):
        return message_representation(instance, self.context.get("request"))


def message_representation(message: Message, request=None) -> dict:
    zone = timezone.get_current_timezone()
    return {
        "id": message.pk,
        "conversation": _int(message.conversation_id),
        "direction": _choice(message.direction),
        "kind": _choice(message.kind),
        "channel": _choice(message.channel),
        "endpoint": _int(message.endpoint_id),
        "sender": identity_representation(message.sender_identity),
        "recipient": identity_representation(message.recipient_identity),
        "author": _int(message.author_id),
        "event_type": str(message.event_type),
        "text": str(message.text),
        "html": str(message.html),
        "provider_message_id": str(message.provider_message_id),
        "delivery_status": _choice(message.delivery_status),
        "delivery_error": str(message.delivery_error),
        "is_auto_reply": bool(message.is_auto_reply),
        "is_bounce": bool(message.is_bounce),
        "metadata": message.metadata,
        "analysis": message.analysis,
        "attachments": [
            attachment_representation(item, request) for item in message.attachments.all()
        ],
        "occurred_at": when(message.occurred_at, zone),
        "created_at": when(message.created_at, zone),
    }


class ReplySerializer(serializers.Serializer):
    text = serializers.CharField(
        allow_blank=True, required=False, default="", trim_whitespace=False
    )
    html = serializers.CharField(allow_blank=True, required=False, default="")
    attachments = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False, use_url=False),
        required=False,
        default=list,
        help_text="Files sent with the reply (a multipart/form-data body, one part per file).",
    )


class ReplyCheckInputSerializer(serializers.Serializer):
    text = serializers.CharField(
        allow_blank=True, required=False, default="", trim_whitespace=False
    )
    html = serializers.CharField(allow_blank=True, required=False, default="")


class ComposeNoticeSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    level = serializers.ChoiceField(choices=["info", "warning", "error"])


class ReplyCheckSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    code = serializers.CharField(allow_blank=True)
    notices = ComposeNoticeSerializer(many=True)


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField()


class AssignSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, required=False
    )
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)

    def validate(self, attrs):
        if "assignee" not in attrs and "team" not in attrs:
            raise serializers.ValidationError("Give an assignee (or null) and/or a team.")
        return attrs


class MergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(
        min_value=1,
        help_text="Id of the conversation that keeps the messages (same contact); this one "
        "stays, resolved, pointing to it.",
    )


class SnoozeSerializer(serializers.Serializer):
    until = WindowDateTimeField()


class FieldsFromArguments:
    """Per instance, shallow copies of fields built once per class instead of deep copies.

    DRF deep-copies every declared field for each serializer instance; ``Field.__deepcopy__``
    deep-copies the field's arguments and then builds the field from them (choices flattened,
    validators made, a queryset filtered). On ``POST /api/v1/inbound/`` that was about a tenth
    of the server's CPU. Here each declared field is built once per class (a template, never
    bound nor used) and every serializer instance gets a shallow copy of it: a new object, so
    binding one (``field_name``, ``parent``) never touches another, sharing only what the
    field's constructor made and nothing changes afterwards (its validators, its choices).
    Only for serializers whose fields take constant arguments; a field holding another field
    (a ``child``) is deep-copied as DRF does.
    """

    def get_fields(self):
        cls = type(self)
        templates = cls.__dict__.get("_field_templates")
        if templates is None:  # two threads may both build it: the same, harmless
            templates = {
                name: None
                if hasattr(field, "child")
                else field.__class__(*field._args, **field._kwargs)
                for name, field in self._declared_fields.items()
            }
            cls._field_templates = templates
        return {
            name: copy.deepcopy(field) if templates[name] is None else _clone(templates[name])
            for name, field in self._declared_fields.items()
        }


def _clone(field):
    """A shallow copy of ``field``: what ``copy.copy`` does, without its generic protocol."""
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class InboundSenderSerializer(FieldsFromArguments, serializers.Serializer):
    kind = serializers.ChoiceField(choices=Identity.Kind.choices, default=Identity.Kind.API)
    address = serializers.CharField(max_length=320)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EndpointField(serializers.PrimaryKeyRelatedField):
    """An endpoint of one channel by id, looked up through the config cache (see
    ``selectors.endpoint_by_pk``); errors as ``PrimaryKeyRelatedField`` gives them."""

    def __init__(self, channel: str, **kwargs):
        self.channel = channel
        kwargs.setdefault("queryset", Endpoint.objects.filter(channel=channel))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        from hub import selectors

        if isinstance(data, bool) or not isinstance(data, int | str | float):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            pk = int(data)
            if isinstance(data, float) and pk != data:
                raise ValueError(data)
        except (TypeError, ValueError, OverflowError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        endpoint = selectors.endpoint_by_pk(pk) if 0 < pk < 2**63 else None
        if endpoint is None or endpoint.channel != self.channel:
            self.fail("does_not_exist", pk_value=data)
        return endpoint


class InboundSerializer(FieldsFromArguments, serializers.Serializer):
    endpoint = EndpointField(channel="api", help_text="Id of an endpoint of the api channel.")
    sender = InboundSenderSerializer()
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=100_000)
    html = serializers.CharField(required=False, allow_blank=True, default="", max_length=400_000)
    subject = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    provider_message_id = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=255
    )
    received_at = WindowDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        latest=received_latest,
        help_text="When the message was sent: from 1970 to at most a day ahead of the hub's "
        "clock. Empty: now.",
    )
    metadata = serializers.JSONField(required=False, default=dict)

    def validate_metadata(self, value):
        return validate_json_object(value, "metadata")

    def validate(self, attrs):
        if not attrs["text"].strip() and not attrs["html"].strip():
            raise serializers.ValidationError({"text": ["Give text or html."]})
        sender = attrs["sender"]
        try:
            sender["address"] = normalise(sender["kind"], sender["address"])
        except InvalidIdentity as exc:
            raise serializers.ValidationError({"sender": {"address": [str(exc)]}}) from exc
        return attrs


class InboundResultSerializer(serializers.Serializer):
    created = serializers.BooleanField()
    message = MessageSerializer()
    conversation = ConversationSerializer()


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookSubscription.Event.choices),
        required=False,
        default=list,
        help_text="Event types to receive; empty for all.",
    )

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "secret",
            "events",
            "is_active",
            "description",
            "created_at",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
        ]
        read_only_fields = [
            "id",
            "created_at",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
        ]
        extra_kwargs = {"secret": {"required": False}}

    def update(self, instance, validated_data):
        from hub.services import webhooks

        enabling = validated_data.get("is_active") and not instance.is_active
        instance = super().update(instance, validated_data)
        if enabling:
            webhooks.enable(instance)  # a fresh failure count, the disabling reason cleared
        return instance

    def validate_url(self, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Use an http(s) URL.")
        return value


class HandoffSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)


class OptOutDecisionSerializer(serializers.Serializer):
    identity = serializers.IntegerField(help_text="The contact's identity the suggestion is about.")
    decision = serializers.ChoiceField(choices=["confirm", "dismiss"])


class TtlPolicySerializer(serializers.ModelSerializer):
    handoff_channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.choices), required=False, default=list
    )

    class Meta:
        model = TtlPolicy
        fields = [
            "id",
            "channel",
            "endpoint",
            "first_response",
            "next_response",
            "resolution",
            "warning_percent",
            "business_hours_only",
            "handoff_mode",
            "handoff_channels",
            "escalation_team",
        ]
        validators = []

    def validate_warning_percent(self, value: int) -> int:
        if not 1 <= value <= 100:
            raise serializers.ValidationError("Between 1 and 100.")
        return value

    def validate(self, attrs):
        channel = attrs.get("channel", getattr(self.instance, "channel", None))
        endpoint = attrs.get("endpoint", getattr(self.instance, "endpoint", None))
        if endpoint is not None and endpoint.channel != channel:
            raise serializers.ValidationError({"endpoint": ["The endpoint is on another channel."]})
        for name in ("first_response", "next_response", "resolution"):
            value = attrs.get(name)
            if value is not None and value.total_seconds() <= 0:
                raise serializers.ValidationError({name: ["A TTL must be positive."]})
        clash = TtlPolicy.objects.filter(channel=channel, endpoint=endpoint)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {"endpoint": ["A policy for this channel/endpoint exists already."]}
            )
        return attrs


class HolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Holiday
        fields = ["date", "name"]


class BusinessHoursSerializer(serializers.ModelSerializer):
    holidays = HolidaySerializer(many=True, required=False)

    class Meta:
        model = BusinessHours
        fields = ["id", "team", "time_zone", "weekly", "holidays"]

    def validate(self, attrs):
        from hub.business_hours import InvalidSchedule, Schedule

        time_zone = attrs.get("time_zone", getattr(self.instance, "time_zone", "UTC"))
        weekly = attrs.get("weekly", getattr(self.instance, "weekly", {}))
        try:
            Schedule.from_config(time_zone, weekly)
        except InvalidSchedule as exc:
            raise serializers.ValidationError({"weekly": [str(exc)]}) from exc
        dates = [h["date"] for h in attrs.get("holidays", [])]
        if len(dates) != len(set(dates)):
            raise serializers.ValidationError({"holidays": ["A date is listed twice."]})
        return attrs

    def _save_holidays(self, instance, holidays):
        if holidays is None:
            return
        instance.holidays.all().delete()
        Holiday.objects.bulk_create(Holiday(business_hours=instance, **h) for h in holidays)

    def create(self, validated_data):
        holidays = validated_data.pop("holidays", [])
        instance = super().create(validated_data)
        self._save_holidays(instance, holidays)
        return instance

    def update(self, instance, validated_data):
        holidays = validated_data.pop("holidays", None)
        instance = super().update(instance, validated_data)
        self._save_holidays(instance, holidays)
        return instance


class SlaReportRowSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True)
    label = serializers.CharField()
    clocks = serializers.IntegerField()
    met = serializers.IntegerField()
    attainment = serializers.FloatField(allow_null=True)
    breaches = serializers.IntegerField()
    handoffs = serializers.IntegerField()
    first_response_median = serializers.FloatField(allow_null=True)
    first_response_p90 = serializers.FloatField(allow_null=True)
    next_response_median = serializers.FloatField(allow_null=True)
    next_response_p90 = serializers.FloatField(allow_null=True)


class SlaReportQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(
        choices=["channel", "team", "agent", "day"], default="channel"
    )
    since = WindowDateTimeField(required=False)
    until = WindowDateTimeField(required=False)

    def validate(self, attrs):
        from datetime import timedelta

        from django.utils import timezone

        attrs.setdefault("until", timezone.now())
        attrs.setdefault("since", attrs["until"] - timedelta(days=30))
        if attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"since": ["Must be before until."]})
        if attrs["until"] - attrs["since"] > timedelta(days=366):
            raise serializers.ValidationError({"since": ["At most one year at a time."]})
        return attrs
