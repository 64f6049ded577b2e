"""REST API views: thin. Validation in serializers, state changes in services, reads in
selectors."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.functional import cached_property
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import services as crm_services
from crm.models import Contact
from hub import selectors, services
from hub.api import serializers as s
from hub.api.fields import WindowDateTimeFilter
from hub.api.pagination import (
    ConversationCursorPagination,
    PerTeamMerge,
    TimelineCursorPagination,
)
from hub.inbound import InboundMessage
from hub.models import (
    Attachment,
    BusinessHours,
    Channel,
    Conversation,
    Endpoint,
    Message,
    Team,
    Temperature,
    TtlPolicy,
    WebhookSubscription,
)
from hub.reports import sla_report
from hub.services import consent as consent_service
from hub.services import handoff as handoff_service
from hub.services.errors import ServiceError

# Ids are positive bigints: anything else is a 400, never a truncated match or a DB overflow.
MAX_ID = 2**63 - 1


class IdFilter(django_filters.Filter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class ConversationFilter(django_filters.FilterSet):
    # distinct=False: no join here can duplicate rows, and DISTINCT makes PostgreSQL sort every
    # match before taking a page.
    status = django_filters.MultipleChoiceFilter(
        choices=Conversation.Status.choices, distinct=False
    )
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices, distinct=False)
    temperature = django_filters.MultipleChoiceFilter(
        choices=Temperature.choices, distinct=False, help_text="calm, warm or hot (repeatable)."
    )
    endpoint = IdFilter(field_name="endpoint_id")
    contact = IdFilter(field_name="contact_id")
    team = IdFilter(field_name="team_id")
    assignee = django_filters.CharFilter(
        method="filter_assignee", help_text="A user id, `me`, or `none` for unassigned."
    )
    updated_since = WindowDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Conversation
        fields = [
            "status",
            "channel",
            "temperature",
            "endpoint",
            "contact",
            "team",
            "assignee",
            "updated_since",
        ]

    def filter_assignee(self, queryset, name, value):
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        # str.isdigit() accepts non-ASCII digits ("²") that int() rejects.
        if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ID:
            raise ValidationError({"assignee": ["Use a user id, `me` or `none`."]})
        return queryset.filter(assignee_id=int(value))


TIMELINE_KIND = OpenApiParameter(
    "kind",
    str,
    many=True,
    enum=[k.value for k in Message.Kind],
    description="Only these kinds of timeline item (repeatable): message, note, event.",
)


def _only_kinds(items, request):
    kinds = request.query_params.getlist("kind")
    if not kinds:
        return items
    unknown = set(kinds) - set(Message.Kind.values)
    if unknown:
        raise ValidationError({"kind": [f"Unknown kind: {', '.join(sorted(unknown))}."]})
    return items.filter(kind__in=kinds)


class ConversationViewSet(viewsets.ReadOnlyModelViewSet):
    """Conversations of the caller's teams, most recently active first."""

    serializer_class = s.ConversationSerializer
    filterset_class = ConversationFilter
    pagination_class = ConversationCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Conversation.objects.none()
        return selectors.conversation_rows(self.request.user, self._team_ids)

    @cached_property
    def _team_ids(self) -> list[int] | None:
        """The agent's teams, read once per request (``None`` for a superuser: every team)."""
        user = self.request.user
        return None if user.is_superuser else selectors.team_ids_of(user)

    # An agent's list over up to this many teams is read one team at a time and merged.
    MERGED_TEAMS_MAX = 8

    def paginate_queryset(self, queryset):
        teams = self._team_ids
        if self.action == "list" and teams and 1 < len(teams) <= self.MERGED_TEAMS_MAX:
            queryset = PerTeamMerge(queryset, teams)
        return super().paginate_queryset(queryset)

    def filter_queryset(self, queryset):
        # The list's filters (status, channel, ...) select conversations to list; on one
        # conversation's routes (detail, reply, assign...) they would only build a filter form
        # per request and turn a valid id into a 404.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(responses=s.MessageSerializer(many=True), parameters=[TIMELINE_KIND])
    @action(detail=True, methods=["get"], pagination_class=TimelineCursorPagination)
    def timeline(self, request, pk=None):
        conversation = self.get_object()
        items = _only_kinds(selectors.conversation_timeline(conversation), request)
        page = self.paginate_queryset(items)
        data = s.MessageSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    def _conversation_response(self, conversation, code=status.HTTP_200_OK):
        conversation = selectors.conversation_rows(self.request.user, self._team_ids).get(
            pk=conversation.pk
        )
        return Response(s.ConversationSerializer(conversation).data, status=code)

    @extend_schema(request=s.ReplySerializer, responses={201: s.MessageSerializer})
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        conversation = self.get_object()
        body = s.ReplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        message = services.send_reply(
            conversation,
            text=body.validated_data["text"],
            html=body.validated_data["html"],
            attachments=services.uploaded_attachments(body.validated_data["attachments"]),
            author=request.user,
        )
        return Response(
            s.MessageSerializer(message, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=s.ReplyCheckInputSerializer, responses=s.ReplyCheckSerializer)
    @action(detail=True, methods=["post"], url_path="reply-check")
    def reply_check(self, request, pk=None):
        """The channel's rules for a draft reply, before sending: allowed or not, and why."""
        conversation = self.get_object()
        body = s.ReplyCheckInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        check = services.check_reply(conversation, body.validated_data["text"])
        return Response(s.ReplyCheckSerializer(check).data)

    @extend_schema(request=s.NoteSerializer, responses={201: s.MessageSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        conversation = self.get_object()
        body = s.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = services.add_note(
            conversation, author=request.user, text=body.validated_data["text"]
        )
        return Response(
            s.MessageSerializer(note, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=s.AssignSerializer, responses=s.ConversationSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        conversation = self.get_object()
        body = s.AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        team = body.validated_data.get("team")
        if team is not None and not selectors.teams_of(request.user).filter(pk=team.pk).exists():
            raise ServiceError("You can only move conversations to your own teams.", field="team")
        kwargs = {"team": team, "by": request.user}
        if "assignee" in body.validated_data:
            kwargs["assignee"] = body.validated_data["assignee"]
        else:
            kwargs["assignee"] = conversation.assignee
        services.assign(conversation, **kwargs)
        return self._conversation_response(conversation)

    @extend_schema(request=None, responses=s.ConversationSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        conversation = services.resolve(self.get_object(), by=request.user)
        return self._conversation_response(conversation)

    @extend_schema(request=None, responses=s.ConversationSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        conversation = services.reopen(self.get_object(), by=request.user)
        return self._conversation_response(conversation)

    @extend_schema(request=s.MergeSerializer, responses=s.ConversationSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Move this conversation's timeline into ``into`` (one thread split in two)."""
        merged = self.get_object()
        body = s.MergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        keep = self.get_queryset().filter(pk=body.validated_data["into"]).first()
        if keep is None:
            raise ValidationError({"into": ["No such conversation."]})
        keep = services.merge_conversations(keep, merged, by=request.user)
        return self._conversation_response(keep)

    @extend_schema(request=s.HandoffSerializer, responses=s.ConversationSerializer)
    @action(detail=True, methods=["post"])
    def handoff(self, request, pk=None):
        """Hand the thread to another channel: replies go out there and the TTL follows it."""
        body = s.HandoffSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        conversation = handoff_service.handoff(
            self.get_object(), channel=body.validated_data["channel"], by=request.user
        )
        return self._conversation_response(conversation)

    @extend_schema(request=s.OptOutDecisionSerializer, responses=s.ConversationSerializer)
    @action(detail=True, methods=["post"], url_path="opt-out")
    def opt_out(self, request, pk=None):
        """Decide on an opt-out (or opt-in) suggestion: ``confirm`` opts the address out (in)
        and sends the confirmation, ``dismiss`` lifts its hold on automatic messages."""
        conversation = self.get_object()
        body = s.OptOutDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        consent_service.decide(
            conversation,
            body.validated_data["identity"],
            body.validated_data["decision"],
            by=request.user,
        )
        return self._conversation_response(conversation)

    @extend_schema(request=None, responses=s.ConversationSerializer)
    @action(detail=True, methods=["post"])
    def pending(self, request, pk=None):
        """Waiting on the person: the TTL clock pauses until they write again."""
        conversation = services.mark_pending(self.get_object(), by=request.user)
        return self._conversation_response(conversation)

    @extend_schema(request=s.SnoozeSerializer, responses=s.ConversationSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None):
        body = s.SnoozeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        conversation = services.snooze(
            self.get_object(), until=body.validated_data["until"], by=request.user
        )
        return self._conversation_response(conversation)


class ContactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", help_text="Name or identity value contains.")

    class Meta:
        model = Contact
        fields = ["q", "company"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(identities__value__icontains=value.lower())
        ).distinct()


class ContactViewSet(viewsets.ModelViewSet):
    """CRM contacts: shared knowledge, visible to every agent."""

    serializer_class = s.ContactSerializer
    filterset_class = ContactFilter
    queryset = Contact.objects.select_related("company").prefetch_related("identities")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = crm_services.create_contact(
            name=data.get("name", ""),
            company=data.get("company"),
            language=data.get("language", ""),
            attributes=data.get("attributes") or {},
            identities=data.get("identities") or [],
        )

    @extend_schema(request=s.IdentitySerializer, responses={201: s.IdentitySerializer})
    @action(detail=True, methods=["post"])
    def identities(self, request, pk=None):
        contact = self.get_object()
        body = s.IdentitySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        identity = crm_services.add_identity(
            contact,
            body.validated_data["kind"],
            body.validated_data["value"],
            display_name=body.validated_data.get("display_name", ""),
        )
        return Response(s.IdentitySerializer(identity).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.MessageSerializer(many=True), parameters=[TIMELINE_KIND])
    @action(
        detail=True,
        methods=["get"],
        pagination_class=TimelineCursorPagination,
        filterset_class=None,
    )
    def timeline(self, request, pk=None):
        contact = self.get_object()
        items = _only_kinds(selectors.contact_timeline(contact, request.user), request)
        page = self.paginate_queryset(items)
        data = s.MessageSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or request.user.is_staff


class TtlPolicyViewSet(viewsets.ModelViewSet):
    """TTL policies per channel (endpoint empty) or per endpoint. Staff edit, agents read."""

    serializer_class = s.TtlPolicySerializer
    permission_classes = [permissions.IsAuthenticated, IsStaffOrReadOnly]
    queryset = TtlPolicy.objects.select_related("endpoint").order_by("channel", "endpoint_id")


class BusinessHoursViewSet(viewsets.ModelViewSet):
    """Opening hours per team (weekly schedule, time zone, holidays). Staff edit, agents read."""

    serializer_class = s.BusinessHoursSerializer
    permission_classes = [permissions.IsAuthenticated, IsStaffOrReadOnly]
    queryset = BusinessHours.objects.prefetch_related("holidays").order_by("pk")


class SlaReportView(APIView):
    """SLA attainment and response-time distributions for the caller's teams."""

    @extend_schema(
        parameters=[s.SlaReportQuerySerializer],
        responses=s.SlaReportRowSerializer(many=True),
    )
    def get(self, request):
        query = s.SlaReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = sla_report(
            since=query.validated_data["since"],
            until=query.validated_data["until"],
            group_by=query.validated_data["group_by"],
            teams=selectors.teams_of(request.user),
        )
        return Response(s.SlaReportRowSerializer(rows, many=True).data)


class EndpointViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.EndpointSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Endpoint.objects.none()
        return selectors.visible_endpoints(self.request.user)


class InboundView(APIView):
    """A message from an integrator's own source, through an endpoint of the api channel."""

    @extend_schema(
        request=s.InboundSerializer,
        responses={201: s.InboundResultSerializer, 200: s.InboundResultSerializer},
    )
    def post(self, request):
        body = s.InboundSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        endpoint = data["endpoint"]
        if not selectors.can_use_endpoint(request.user, endpoint):
            return Response(
                {"endpoint": ["You are not a member of this endpoint's team."]},
                status=status.HTTP_403_FORBIDDEN,
            )
        outcome = services.ingest_with_outcome(
            InboundMessage(
                endpoint=endpoint,
                sender_kind=data["sender"]["kind"],
                sender_address=data["sender"]["address"],
                sender_name=data["sender"]["name"],
                text=data["text"],
                html=data["html"],
                subject=data["subject"],
                provider_message_id=data["provider_message_id"],
                received_at=data["received_at"],
                metadata=data["metadata"],
                raw=request.data if isinstance(request.data, dict) else None,
            )
        )
        message = outcome.message
        if outcome.created and not getattr(message, "attachments_expected", True):
            # Just stored without files: spare the serializer its attachments query.
            message._prefetched_objects_cache = {"attachments": Attachment.objects.none()}
        result = {
            "created": outcome.created,
            "message": s.MessageSerializer(message, context={"request": request}).data,
            "conversation": s.ConversationSerializer(message.conversation).data,
        }
        return Response(result, status=status.HTTP_201_CREATED if outcome.created else 200)


class WebhookSubscriptionViewSet(viewsets.ModelViewSet):
    """Outgoing webhook subscriptions (staff only). Payloads are signed with the secret."""

    serializer_class = s.WebhookSubscriptionSerializer
    permission_classes = [permissions.IsAdminUser]
    queryset = WebhookSubscription.objects.all()

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)


class TeamViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.TeamSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Team.objects.none()
        return selectors.teams_of(self.request.user)
