"""SMS segment counting: GSM-7 (3GPP TS 23.038) or UCS-2, as carriers bill it.

A text that fits the GSM 7-bit default alphabet is sent in septets: 160 in one SMS, 153 per part
once it is split (the user data header takes 7). Characters of the extension table (``€``, ``[``,
``{`` ...) take two septets (escape + character), and a part never ends between the two. Any
other character (``È``, a curly apostrophe, an emoji) switches the whole message to UCS-2 -
really UTF-16, as phones send it: 70 code units in one SMS, 67 per part, and an emoji outside
the Basic Multilingual Plane takes two units that are never split across parts.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int  # SMS parts billed (0 for an empty text)
    per_segment: int  # capacity of one part at this length
    non_gsm: tuple[str, ...] = ()  # the characters that forced UCS-2, first seen first

    @property
    def single_limit(self) -> int:
        return GSM7_SINGLE if self.encoding == "GSM-7" else UCS2_SINGLE


def _pack(costs: list[int], single: int, part: int) -> int:
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count


def count_segments(text: str) -> Segments:
    """How many SMS parts ``text`` takes, in which encoding."""
    non_gsm: list[str] = []
    for char in text:
        if char not in GSM7_BASIC and char not in GSM7_EXTENSION and char not in non_gsm:
            non_gsm.append(char)
    if not non_gsm:
        costs = [2 if char in GSM7_EXTENSION else 1 for char in text]
        count = _pack(costs, GSM7_SINGLE, GSM7_PART)
        per = GSM7_SINGLE if count <= 1 else GSM7_PART
        return Segments("GSM-7", sum(costs), count, per)
    costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
    count = _pack(costs, UCS2_SINGLE, UCS2_PART)
    per = UCS2_SINGLE if count <= 1 else UCS2_PART
    return Segments("UCS-2", sum(costs), count, per, tuple(non_gsm))


def utf16_length(text: str) -> int:
    """Length as Twilio counts it for its 1600-character body limit (UTF-16 code units)."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)
