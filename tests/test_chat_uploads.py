"""A visitor sends a file through the widget (``POST /chat/api/upload/``, multipart): stored as
their message with the file attached, typed from its bytes, shown to the agents, linked in the
visitor's widget; too large, empty, unsigned or from another site, nothing is stored."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from channels_chat import services
from hub.models import Attachment, Message
from tests.chat_helpers import chat_endpoint, chat_limits, one_rate_window, visitor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
__all__ = ["chat_limits"]

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def endpoint():
    return chat_endpoint(allowed_origins=["https://shop.example"])


def upload(endpoint, token, file, origin="https://shop.example", **fields):
    data = {"endpoint": endpoint.public_key, "token": token, **fields}
    if file is not None:
        data["file"] = file
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return Client().post("/chat/api/upload/", data, **headers)


def test_a_visitor_sends_a_file(endpoint):
    token, who = visitor(endpoint)
    response = upload(
        endpoint,
        token,
        SimpleUploadedFile("ricevuta.pdf", PDF, content_type="application/pdf"),
        text="Ecco la ricevuta",
        client_id="up-1",
    )
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    payload = response.json()["message"]
    assert payload["direction"] == "in" and payload["text"] == "Ecco la ricevuta"
    assert payload["client_id"] == "up-1"
    [listed] = payload["files"]
    assert listed["name"] == "ricevuta.pdf" and listed["size"] == len(PDF)
    # Stored as the visitor's message, in their conversation, the file attached.
    message = Message.objects.get(pk=payload["id"])
    assert message.sender_identity_id == who.identity.pk
    attachment = Attachment.objects.get(message=message)
    assert attachment.content_type == "application/pdf" and attachment.file.read() == PDF
    # The link in the widget downloads it, inert.
    download = Client().get(listed["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["X-Content-Type-Options"] == "nosniff"
    # A resync lists it too; a retry of the same upload stores nothing new.
    history = services.history(who)
    assert history["messages"][-1]["files"][0]["name"] == "ricevuta.pdf"
    again = upload(endpoint, token, SimpleUploadedFile("ricevuta.pdf", PDF), client_id="up-1")
    assert again.status_code == 200 and again.json()["message"]["id"] == message.pk
    assert Attachment.objects.count() == 1


def test_a_file_alone_and_its_type_from_the_bytes(endpoint):
    token, _who = visitor(endpoint)
    # Markup declared as an image is stored as text, never as something a browser renders.
    response = upload(
        endpoint,
        token,
        SimpleUploadedFile("x.png", b"<html><script>alert(1)</script></html>", "image/png"),
    )
    assert response.status_code == 200, response.content
    stored = Attachment.objects.get()
    assert stored.content_type in {"text/plain", "application/octet-stream"}
    image = upload(endpoint, token, SimpleUploadedFile("foto.bin", PNG, "application/x-foo"))
    assert image.status_code == 200
    assert Attachment.objects.get(filename="foto.bin").content_type == "image/png"


def test_the_agent_sees_the_visitors_file(endpoint):
    token, _who = visitor(endpoint)
    response = upload(endpoint, token, SimpleUploadedFile("foto.png", PNG, "image/png"))
    message = Message.objects.get(pk=response.json()["message"]["id"])
    agent = UserFactory()
    endpoint.team.members.add(agent)
    client = Client()
    client.force_login(agent)
    page = client.get(reverse("inbox:conversation", args=[message.conversation_id])).content
    attachment = Attachment.objects.get(message=message)
    assert reverse("attachment-download", args=[attachment.pk]).encode() in page
    assert b"foto.png" in page


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("too_large", 413, "too_large"),
        ("empty", 400, "empty"),
        ("no_file", 400, "invalid"),
        ("caption_too_long", 413, "too_long"),
        ("bad_token", 401, None),
        ("other_site", 403, "origin_not_allowed"),
    ],
)
def test_refused_uploads_store_nothing(endpoint, settings, case, status, code):
    settings.HUB_CHAT = {**settings.HUB_CHAT, "MAX_UPLOAD_BYTES": 1024}
    token, _who = visitor(endpoint)
    file = SimpleUploadedFile("a.pdf", PDF)
    kwargs = {}
    if case == "too_large":
        file = SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * 2048)
    elif case == "empty":
        file = SimpleUploadedFile("empty.pdf", b"")
    elif case == "no_file":
        file = None
    elif case == "caption_too_long":
        kwargs["text"] = "x" * 10_000
    elif case == "bad_token":
        token = token + "x"
    elif case == "other_site":
        kwargs["origin"] = "https://evil.example"
    response = upload(endpoint, token, file, **kwargs)
    assert response.status_code in ({401, 403} if case == "bad_token" else {status}), (
        response.content
    )
    if code:
        assert response.json()["error"] == code
    assert not Message.objects.filter(direction="in").exists()
    assert not Attachment.objects.exists()


def test_a_body_over_the_limit_is_refused_before_it_is_read(endpoint, settings):
    settings.HUB_CHAT = {**settings.HUB_CHAT, "MAX_UPLOAD_BYTES": 1024}
    token, _who = visitor(endpoint)
    response = Client().post(
        "/chat/api/upload/",
        {"endpoint": endpoint.public_key, "token": token, "file": SimpleUploadedFile("b", PDF)},
        HTTP_ORIGIN="https://shop.example",
        CONTENT_LENGTH=str(10 * 1024 * 1024),
    )
    assert response.status_code == 413


def test_a_json_body_is_not_an_upload(endpoint):
    token, _who = visitor(endpoint)
    response = Client().post(
        "/chat/api/upload/",
        {"endpoint": endpoint.public_key, "token": token},
        content_type="application/json",
        HTTP_ORIGIN="https://shop.example",
    )
    assert response.status_code == 415


def test_uploads_are_rate_limited_per_visitor(endpoint, settings):
    settings.HUB_CHAT = {**settings.HUB_CHAT, "UPLOADS_PER_MINUTE": 2}
    token, _who = visitor(endpoint)
    with one_rate_window():
        codes = [
            upload(endpoint, token, SimpleUploadedFile(f"{n}.pdf", PDF)).status_code
            for n in range(3)
        ]
    assert codes == [200, 200, 429]
    assert Attachment.objects.count() == 2


def test_uploads_can_be_switched_off(endpoint, settings):
    settings.HUB_CHAT = {**settings.HUB_CHAT, "MAX_UPLOAD_BYTES": 0}
    token, _who = visitor(endpoint)
    response = upload(endpoint, token, SimpleUploadedFile("a.pdf", PDF))
    assert response.status_code == 403 and response.json()["error"] == "uploads_off"
    session = services.session_info(services.authenticate(token, endpoint))
    assert session["max_upload_bytes"] == 0
