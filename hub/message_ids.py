"""Provider message ids as the hub stores and matches them.

Email Message-IDs are usually short, but RFC 5322 sets no limit and some mailers write several
hundred characters. The indexed columns (``Message.provider_message_id``,
``MessageReference.provider_message_id``) hold 255; cutting an id there would make a reply that
names the whole id miss its parent. So an id longer than :data:`STORED_LENGTH` is stored as a
fixed-length digest of the whole id (``sha256:<64 hex>``), the same function applied wherever an
id is written or looked up (the message's own id, the ids it references, the duplicate check,
the batch planner); channels keep the full id in the message's metadata.
"""

from __future__ import annotations

import hashlib

# Ids up to this length are stored as they are; longer ones as their digest.
STORED_LENGTH = 250
# Longer than this is not an id but garbage: channels ignore it.
MAX_LENGTH = 2000
DIGEST_PREFIX = "sha256:"


def matching_key(message_id: str) -> str:
    """What is stored and matched for ``message_id``: the id itself, or ``sha256:<hex>`` of it
    when it is longer than :data:`STORED_LENGTH` (idempotent: a key maps to itself)."""
    if len(message_id) <= STORED_LENGTH:
        return message_id
    return DIGEST_PREFIX + hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()
