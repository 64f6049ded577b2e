"""Plain Django views of the hub (the REST API lives in hub.api)."""

from __future__ import annotations

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404

from hub import selectors
from hub.files import file_response
from hub.models import Attachment

# Shown in the browser; anything else downloads. Never text/html or SVG (script carriers).
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}


def healthz(request):
    """Liveness for load balancers: the database answers and the broker answers."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2
        )
        client.ping()
        client.close()
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )


@login_required
def attachment_download(request, pk: int):
    """An attachment, for agents who can see its conversation (or a token-authenticated user)."""
    attachment = get_object_or_404(Attachment.objects.select_related("message"), pk=pk)
    visible = selectors.visible_conversations(request.user).filter(
        pk=attachment.message.conversation_id
    )
    if not visible.exists():
        raise Http404
    inline = attachment.content_type in INLINE_TYPES
    return file_response(
        attachment,
        as_attachment=not inline,
        content_type=attachment.content_type if inline else "application/octet-stream",
    )
