"""The widget's HTTP API (session, resync and the polling fallback when WebSockets are blocked)
and the demo page. Thin: the checks every call shares are in ``widget_api``, the work in
``services``.

Every call is a POST whose JSON body names the endpoint (its public key) and, except for
``session``, carries the visitor token. The widget sends it as ``text/plain``: a "simple"
cross-origin request, so browsers need no preflight (one round trip per poll, not two);
``application/json`` works too and its preflight is answered. A page of an origin the endpoint
does not allow gets 403 before anything happens, and no CORS headers.
"""

from __future__ import annotations

import functools
import logging

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import Http404, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels_chat import conf, files, greetings, leads, origins, presence, ratelimit, services
from channels_chat.errors import ChatError
from hub import json_input
from hub.files import file_response
from hub.models import Channel, Endpoint

logger = logging.getLogger(__name__)

DEMO_ENDPOINT_ADDRESS = "website"


def _cors(response: HttpResponse, origin: str) -> HttpResponse:
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    response["Cache-Control"] = "no-store"
    return response


def _error(error: ChatError, origin: str = "") -> HttpResponse:
    response = JsonResponse(error.as_dict(), status=error.status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return _cors(response, origin)


def _json_body(request) -> dict:
    if len(request.body) > int(conf.setting("MAX_BODY_BYTES")):
        raise ChatError("too_large", "Request body too large.", status=413)
    try:
        body = json_input.loads(request.body or b"{}")
    except json_input.InvalidJson as exc:
        raise ChatError("invalid_json", f"The body must be a JSON object. {exc}") from exc
    if not isinstance(body, dict):
        raise ChatError("invalid_json", "The body must be a JSON object.")
    return body


# Room for the form fields and the multipart framing around an upload's file.
_FORM_OVERHEAD = 64 * 1024


def _form_body(request) -> dict:
    """A ``multipart/form-data`` upload: its fields as the body, the file as ``file``. The
    declared length is checked before anything is read."""
    limit = int(conf.setting("MAX_UPLOAD_BYTES")) + _FORM_OVERHEAD
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise ChatError("too_large", "Request body too large.", status=413)
    if request.content_type != "multipart/form-data":
        raise ChatError("invalid", "Send the file as multipart/form-data.", status=415)
    try:
        fields = {name: request.POST.get(name) for name in request.POST}
        fields["file"] = request.FILES.get("file")
    except (MultiPartParserError, RequestDataTooBig) as exc:
        raise ChatError("invalid", f"Unreadable upload: {exc}") from exc
    return fields


def widget_api(*, needs_visitor: bool = True, form: bool = False):
    """Preflight, method, body size and JSON (``form``: a multipart upload), per-address rate
    limit, endpoint and origin, visitor token; ``ChatError`` becomes its 4xx. The view gets
    ``(request, body, endpoint, visitor)`` and returns a dict (200 JSON) or a response."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            origin = request.headers.get("Origin", "")
            if request.method == "OPTIONS":
                return _cors(HttpResponse(status=204), origin)
            if request.method != "POST":
                response = _error(ChatError("method_not_allowed", "Use POST.", status=405))
                response["Allow"] = "POST, OPTIONS"
                return response
            cors_origin = ""
            try:
                body = _form_body(request) if form else _json_body(request)
                ratelimit.hit(
                    "http-ip",
                    request.META.get("REMOTE_ADDR", "-"),
                    int(conf.setting("REQUESTS_PER_MINUTE_PER_IP")),
                )
                endpoint = services.chat_endpoint(body.get("endpoint"))
                if not origins.origin_allowed(endpoint, origin, request.get_host()):
                    raise ChatError(
                        "origin_not_allowed",
                        "This site may not use this chat (allowed_origins).",
                        status=403,
                    )
                cors_origin = origin
                visitor = (
                    services.authenticate(body.get("token"), endpoint) if needs_visitor else None
                )
                result = view(request, body, endpoint, visitor, *args, **kwargs)
            except ratelimit.Limited as limited:
                return _error(
                    ChatError(
                        "rate_limited",
                        "Too many requests; slow down.",
                        status=429,
                        retry_after=limited.retry_after,
                    ),
                    cors_origin,
                )
            except ChatError as error:
                return _error(error, cors_origin)
            except (DatabaseError, RedisConnectionError, RedisTimeoutError):
                # The database or Redis (presence, typing flags) is unreachable or busy: a
                # retry cures it, and every call is safe to repeat (a message carries its
                # client_id), so the widget is told to retry, not shown a server error.
                logger.warning("chat API %s failed", request.path, exc_info=True)
                error = ChatError("try_again", "Unavailable, retry.", status=503, retry_after=2)
                return _error(error, cors_origin)
            if isinstance(result, HttpResponse):
                return _cors(result, cors_origin)
            return _cors(JsonResponse(result), cors_origin)

        return wrapper

    return decorate


@widget_api(needs_visitor=False)
def session(request, body, endpoint, visitor):
    """Start or continue: a token (the widget's own while valid) and the widget's state."""
    token, visitor = services.start_session(
        endpoint,
        body.get("token"),
        language=str(body.get("language") or "")[:12],
        client_ip=request.META.get("REMOTE_ADDR", ""),
    )
    presence.polled(visitor.identity.pk)
    return {"token": token, **services.session_info(visitor)}


@widget_api()
def sync(request, body, endpoint, visitor):
    """Messages after the cursor ``after``: the resync after a reconnect, and the poll of a
    widget whose WebSocket is blocked (which also keeps the visitor present)."""
    after = body.get("after") if isinstance(body.get("after"), int) else 0
    presence.polled(visitor.identity.pk)
    state = services.history(visitor, after=max(0, after))
    state["typing"] = services.agent_typing_flag(visitor.identity.pk)
    return state


@widget_api()
def send(request, body, endpoint, visitor):
    message = services.send_message(
        visitor, body.get("text"), body.get("client_id"), body.get("page_url")
    )
    presence.polled(visitor.identity.pk)
    return {"message": services.visitor_payload(message)}


@widget_api(form=True)
def upload(request, body, endpoint, visitor):
    """A file from the visitor (``multipart/form-data``: ``endpoint``, ``token``, ``file``,
    optional ``text`` and ``client_id``): stored as their message with the file attached."""
    message = services.send_file(
        visitor, body.get("file"), body.get("text") or "", body.get("client_id"),
        body.get("page_url") or "",
    )  # fmt: skip
    presence.polled(visitor.identity.pk)
    return {"message": services.visitor_payload(message)}


@widget_api()
def typing(request, body, endpoint, visitor):
    services.visitor_typing(visitor, bool(body.get("active")))
    return {"ok": True}


@widget_api()
def seen(request, body, endpoint, visitor):
    return {"updated": services.mark_seen(visitor, body.get("up_to"))}


@widget_api()
def page_view(request, body, endpoint, visitor):
    view, offers = services.record_page_view(
        visitor,
        body.get("url"),
        body.get("title", ""),
        body.get("referrer", ""),
        language=str(body.get("language") or ""),
    )
    return {"page_view": view.pk, "greetings": offers}


@widget_api()
def page_leave(request, body, endpoint, visitor):
    """Sent with ``navigator.sendBeacon`` when the page is hidden: the time on page."""
    return {"updated": services.page_left(visitor, body.get("page_view"), body.get("seconds"))}


@widget_api()
def greeting_shown(request, body, endpoint, visitor):
    shown = greetings.mark_shown(
        visitor,
        body.get("rule"),
        services._http_url(body.get("url")),
        services.language_of(str(body.get("language") or "")),
    )
    return {"shown": shown is not None, **(shown or {})}


@widget_api()
def details(request, body, endpoint, visitor):
    """The pre-chat form and the in-chat email form (the email is a claim: ``leads``)."""
    return leads.capture_details(visitor, name=body.get("name", ""), email=body.get("email", ""))


@widget_api()
def verify(request, body, endpoint, visitor):
    """The visitor enters the code emailed to the address they gave (their own claim only)."""
    return leads.verify_code(visitor, body.get("code"))


@widget_api()
def verify_send(request, body, endpoint, visitor):
    """Email a new code to the address the visitor gave."""
    return leads.send_code(visitor)


@require_GET
def file(request, token: str, name: str):
    """A file of a reply, for the link in the visitor's widget (see ``channels_chat.files``)."""
    attachment = files.attachment_for(token)
    if attachment is None:
        raise Http404
    return file_response(attachment, cache_control="private, max-age=3600")


def demo(request):
    """A page that embeds the widget of the "Website chat" endpoint (``bootstrap_hub``)."""
    endpoint = (
        Endpoint.objects.filter(channel=Channel.CHAT, address=DEMO_ENDPOINT_ADDRESS, is_active=True)
        .order_by("pk")
        .first()
    )
    language = "it" if request.GET.get("lang") == "it" else "en"
    script = request.build_absolute_uri(static("chat/widget.js"))
    context = {"endpoint": endpoint, "language": language, "script_url": script}
    return render(request, "channels_chat/demo.html", context, status=200 if endpoint else 404)
