"""Content types from the bytes, not from what the sender declared.

A declared type is kept only when the content agrees with it (or when we cannot tell). Anything
that could run in a browser (HTML, SVG, XML, JavaScript) is stored as ``text/plain`` or
``application/octet-stream``, never under a type a browser would render as a page.
"""

from __future__ import annotations

import mimetypes

_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"BZh", 0, "application/x-bzip2"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-ole-storage"),
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"ID3", 0, "audio/mpeg"),
    (b"OggS", 0, "audio/ogg"),
    (b"\x00\x00\x01\x00", 0, "image/vnd.microsoft.icon"),
    (b"MZ", 0, "application/x-msdownload"),
    (b"\x7fELF", 0, "application/x-executable"),
]
# Containers whose specific type only the declared type or extension can tell.
_ZIP_BASED = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/epub+zip",
    "application/java-archive",
}
_OLE_BASED = {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
              "application/vnd.ms-outlook"}  # fmt: skip
_ACTIVE = {
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
}
_TEXT_SAFE = {"text/plain", "text/csv", "text/calendar", "text/vcard", "text/x-vcard",
              "text/rfc822-headers", "message/rfc822", "message/delivery-status",
              "message/disposition-notification", "message/feedback-report",
              "application/json", "application/pgp-signature", "application/pkcs7-signature",
              "text/markdown", "text/enriched", "text/richtext"}  # fmt: skip


def _magic_type(content: bytes) -> str:
    head = content[:64]
    for signature, offset, ctype in _MAGIC:
        if head[offset : offset + len(signature)] == signature:
            return ctype
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image/heic"
        if brand == b"avif":
            return "image/avif"
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    return ""


def _looks_like_markup(content: bytes) -> bool:
    start = content[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html", b"<svg", b"<?xml", b"<script", b"<head"))


def _is_text(content: bytes) -> bool:
    sample = content[:2048]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        return exc.start > len(sample) - 4  # a multi-byte character cut by the sample


def sniff(content: bytes, declared: str = "", filename: str = "") -> str:
    """The content type to store and serve ``content`` under."""
    declared = (declared or "").lower().strip()
    guessed = (mimetypes.guess_type(filename)[0] or "") if filename else ""
    claimed = declared if declared and declared != "application/octet-stream" else guessed
    magic = _magic_type(content)
    if magic:
        if magic == "application/zip" and (claimed in _ZIP_BASED or guessed in _ZIP_BASED):
            return claimed if claimed in _ZIP_BASED else guessed
        if magic == "application/x-ole-storage" and (
            claimed in _OLE_BASED or guessed in _OLE_BASED
        ):
            return claimed if claimed in _OLE_BASED else guessed
        return magic
    if claimed in _ACTIVE or _looks_like_markup(content):
        return "text/plain" if _is_text(content) else "application/octet-stream"
    if claimed in _TEXT_SAFE or (claimed.startswith("text/") and claimed not in _ACTIVE):
        return claimed if _is_text(content) else "application/octet-stream"
    if claimed.startswith(("image/", "audio/", "video/")) or claimed == "application/pdf":
        # Claims a type with a signature we know, but the bytes do not carry it.
        return "application/octet-stream"
    if not claimed:
        return "text/plain" if content and _is_text(content) else "application/octet-stream"
    return claimed


def extension_for(content_type: str) -> str:
    return {"message/rfc822": ".eml", "text/plain": ".txt"}.get(
        content_type, mimetypes.guess_extension(content_type) or ".bin"
    )
