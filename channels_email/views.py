"""HTTP entry points of the email channel (Anymail's ESP webhooks are Anymail's own views)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_email import services
from hub import selectors
from hub.api.authentication import TokenAuthentication
from hub.models import Channel, Message


class CanSubmitRawEmail(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and user.has_perm("channels_email.submit_raw_email")
        )


class RawInboundView(APIView):
    """``POST /channels/email/inbound/raw/?recipient=<envelope recipient>``: the body is one RFC
    822 message, e.g. piped by an MTA. Authentication: ``Authorization: Token <key>`` of a user
    with the *Can submit raw email* permission. ``202`` with what happened (``ingested``,
    ``duplicate``, or ``quarantined`` with the reason: never lost); ``413`` above
    ``HUB_EMAIL_MAX_RAW_BYTES`` (so the MTA bounces it to the sender)."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [CanSubmitRawEmail]
    parser_classes: list = []  # the body is read raw, not parsed by DRF

    @extend_schema(
        request={"message/rfc822": OpenApiTypes.BINARY},
        parameters=[OpenApiParameter("recipient", str, description="SMTP envelope recipient")],
        responses={202: OpenApiTypes.OBJECT, 413: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        limit = settings.HUB_EMAIL["MAX_RAW_BYTES"]
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > limit:
            return Response({"detail": f"Message larger than {limit} bytes."}, status=413)
        stream = request.stream
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            return Response({"detail": f"Message larger than {limit} bytes."}, status=413)
        if not raw.strip():
            return Response({"detail": "Empty body: POST the RFC 822 message."}, status=400)
        outcome = services.ingest_raw_email(
            raw,
            source="raw_http",
            envelope_recipient=request.query_params.get("recipient", "")[:320],
        )
        body = {"status": outcome.status}
        if outcome.message is not None:
            body["message_id"] = outcome.message.pk
            body["conversation_id"] = outcome.message.conversation_id
        if outcome.quarantine is not None:
            body["quarantine_id"] = outcome.quarantine.pk
            body["reason"] = outcome.reason
        return Response(body, status=status.HTTP_202_ACCEPTED)


@login_required
def original_message(request, pk: int):
    """The original bytes of an inbound email (``.eml`` download), for agents who can see it."""
    message = get_object_or_404(Message, pk=pk, channel=Channel.EMAIL)
    visible = selectors.visible_conversations(request.user).filter(pk=message.conversation_id)
    raw = (message.metadata.get("email") or {}).get("raw") or {}
    if not visible.exists() or not raw.get("path") or not default_storage.exists(raw["path"]):
        raise Http404
    response = FileResponse(
        default_storage.open(raw["path"], "rb"),
        as_attachment=True,
        filename=f"message-{message.pk}.eml",
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
