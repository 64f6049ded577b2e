"""Files of the visitor's chat (an agent's reply's, the visitor's own uploads), as the widget
downloads them.

The widget runs on the customer's site and authenticates with its visitor token, which a plain
link cannot carry. So each file of a message the visitor may read (``services.visible_messages``)
gets a signed, expiring URL in that message's payload, made afresh whenever the payload is: the
signature is the authorisation, as for the media URLs Twilio fetches (both through
``hub.files``). The download is served as an attachment, inert on the hub's origin.
"""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from channels_chat import conf
from hub import files
from hub.models import Attachment, Channel, Message

_SALT = "channels_chat.files"


def file_path(attachment: Attachment) -> str:
    """The path (below the hub's origin) the widget downloads ``attachment`` from."""
    token = files.sign(attachment, _SALT)
    return reverse("channels_chat:file", args=[token, files.safe_filename(attachment.filename)])


def attachment_for(token: str) -> Attachment | None:
    """The attachment a valid, unexpired token names, if it is still a file of a reply or of
    the visitor's own upload (never of a note, nor of the person's email: see
    ``files_payload``)."""
    pk = files.signed_id(token, _SALT, int(conf.setting("FILE_URL_MAX_AGE_SECONDS")))
    if pk is None:
        return None
    return (
        Attachment.objects.filter(pk=pk, message__kind=Message.Kind.MESSAGE)
        .filter(
            Q(message__direction=Message.Direction.OUTBOUND)
            | Q(message__channel=Channel.CHAT)  # what a visitor sent through the widget
        )
        .only("file", "filename", "content_type", "size")
        .first()
    )


def files_payload(message: Message) -> list[dict]:
    """What the widget shows of ``message``'s files: a reply's, or a file the visitor sent
    through the widget (an inbound message of the chat channel); never the files of the
    person's own email, which the widget may show as text."""
    if message.kind != Message.Kind.MESSAGE:
        return []
    if message.direction != Message.Direction.OUTBOUND and message.channel != Channel.CHAT:
        return []
    return [
        {"name": item.filename, "size": item.size, "url": file_path(item)}
        for item in message.attachments.all()
    ]
