"""Facts about channel kinds that the hub itself needs (no channel app imported)."""

from __future__ import annotations

from crm.models import Identity
from hub.models import Channel

# Which identity kind a channel reaches a person on, in order of preference.
IDENTITY_KINDS_FOR_CHANNEL: dict[str, tuple[str, ...]] = {
    Channel.EMAIL: (Identity.Kind.EMAIL,),
    Channel.SMS: (Identity.Kind.PHONE, Identity.Kind.WHATSAPP),
    Channel.WHATSAPP: (Identity.Kind.WHATSAPP, Identity.Kind.PHONE),
    Channel.CHAT: (Identity.Kind.CHAT_VISITOR,),
    Channel.API: (Identity.Kind.API,),
}
