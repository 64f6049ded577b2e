"""Twilio's incoming-message parameters, read into what the hub needs.

Parameter names as Twilio documents them for SMS/MMS and WhatsApp (``From``, ``To``, ``Body``,
``MessageSid`` and its deprecated aliases ``SmsMessageSid``/``SmsSid``, ``NumMedia``,
``MediaUrl{N}``/``MediaContentType{N}``, ``ProfileName``, ``WaId``, ``MessageType``, location,
button, reply-context and click-to-WhatsApp referral fields). Values the hub stores are cleaned
(NUL and control characters dropped, lengths bounded): PostgreSQL refuses NUL in text and jsonb.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.models import Channel
from hub.text import clean_text

WHATSAPP_PREFIX = "whatsapp:"
MAX_MEDIA = 10  # Twilio sends at most 10 media items per message

_REFERRAL_FIELDS = {
    "ReferralBody": "body",
    "ReferralHeadline": "headline",
    "ReferralSourceId": "source_id",
    "ReferralSourceType": "source_type",
    "ReferralSourceUrl": "source_url",
    "ReferralMediaId": "media_id",
    "ReferralMediaContentType": "media_content_type",
    "ReferralMediaUrl": "media_url",
    "ReferralNumMedia": "num_media",
    "ReferralCtwaClid": "ctwa_clid",
}


def clean(value: Any, limit: int = 500) -> str:
    return clean_text(value if isinstance(value, str) else "")[:limit]


def strip_channel_prefix(address: str) -> str:
    address = (address or "").strip()
    if address.lower().startswith(WHATSAPP_PREFIX):
        return address[len(WHATSAPP_PREFIX) :].strip()
    return address


def channel_of(address: str) -> str:
    whatsapp = (address or "").strip().lower().startswith(WHATSAPP_PREFIX)
    return Channel.WHATSAPP if whatsapp else Channel.SMS


def message_sid(params: Mapping[str, Any]) -> str:
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid")
    return clean(sid, 64)


@dataclass
class TwilioInbound:
    message_sid: str
    sender: str  # From, as Twilio sent it (``whatsapp:`` prefix included)
    recipient: str  # To
    channel: str
    text: str
    sender_name: str = ""
    media: list[dict[str, str]] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.text or self.media)


def _location(params: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        latitude = float(params.get("Latitude", ""))
        longitude = float(params.get("Longitude", ""))
    except (TypeError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    location = {"latitude": latitude, "longitude": longitude}
    for source, key in (("Address", "address"), ("Label", "label")):
        if clean(params.get(source)):
            location[key] = clean(params.get(source))
    return location


def _location_text(location: dict[str, Any]) -> str:
    lat, lon = location["latitude"], location["longitude"]
    name = " - ".join(v for v in (location.get("label"), location.get("address")) if v)
    head = f"Location: {name} ({lat}, {lon})" if name else f"Location: {lat}, {lon}"
    return f"{head}\nhttps://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


def parse_inbound(params: Mapping[str, Any]) -> TwilioInbound:
    sender = clean(params.get("From"), 200)
    recipient = clean(params.get("To"), 200)
    channel = channel_of(sender) if sender else channel_of(recipient)
    text = clean_text(params.get("Body") or "")
    media = []
    for index in range(MAX_MEDIA):
        url = params.get(f"MediaUrl{index}")
        if isinstance(url, str) and url.strip():
            media.append(
                {
                    "url": url.strip()[:2000],
                    "content_type": clean(params.get(f"MediaContentType{index}"), 255),
                }
            )
    twilio: dict[str, Any] = {
        "message_sid": message_sid(params),
        "account_sid": clean(params.get("AccountSid"), 64),
        "messaging_service_sid": clean(params.get("MessagingServiceSid"), 64),
        "from": sender,
        "to": recipient,
        "num_segments": clean(params.get("NumSegments"), 8),
        "profile_name": clean(params.get("ProfileName"), 200),
        "wa_id": clean(params.get("WaId"), 64),
        "message_type": clean(params.get("MessageType"), 40),
        "forwarded": clean(params.get("Forwarded"), 8),
        "frequently_forwarded": clean(params.get("FrequentlyForwarded"), 8),
        "from_country": clean(params.get("FromCountry"), 8),
    }
    button = {
        "text": clean(params.get("ButtonText")),
        "payload": clean(params.get("ButtonPayload")),
    }
    if any(button.values()):
        twilio["button"] = button
        text = text or button["text"] or button["payload"]  # a quick-reply tap without Body
    referral = {key: clean(params.get(name), 1000) for name, key in _REFERRAL_FIELDS.items()}
    if any(referral.values()):
        twilio["referral"] = {key: value for key, value in referral.items() if value}
    replied_to = clean(params.get("OriginalRepliedMessageSid"), 64)
    if replied_to:
        twilio["replied_to"] = {
            "sid": replied_to,
            "sender": clean(params.get("OriginalRepliedMessageSender"), 200),
        }
    location = _location(params)
    if location is not None:
        twilio["location"] = location
        if not text:
            text = _location_text(location)
    if media:
        twilio["media"] = media
    return TwilioInbound(
        message_sid=twilio["message_sid"],
        sender=sender,
        recipient=recipient,
        channel=channel,
        text=text,
        sender_name=twilio["profile_name"],
        media=media,
        references=[replied_to] if replied_to else [],
        metadata={"twilio": {key: value for key, value in twilio.items() if value}},
    )
