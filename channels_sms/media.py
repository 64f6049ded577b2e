"""Media in both directions.

Inbound: ``MediaUrl{N}`` is fetched in a Celery task, never in the webhook. Only ``https`` URLs on
the allowed hosts (``TWILIO_MEDIA_HOSTS``, Twilio's by default) are fetched, with Twilio's HTTP
basic auth (account sid, auth token) on Twilio's API hosts only. Redirects (Twilio sends media
through its CDN) are followed by hand: the credentials are never sent to another host, and a hop
must stay on ``https`` and on an allowed host or one whose every address is public, so a URL
cannot reach the metadata service or the private network (SSRF). A DNS answer that changes
between the check and the connection is a residual risk the allow-list keeps small. Bodies are
streamed and cut off at ``TWILIO_MEDIA_MAX_BYTES``.

Outbound: Twilio fetches ``MediaUrl`` from us, so each attachment gets a signed URL that expires
(``TWILIO_MEDIA_URL_MAX_AGE``) on the public view ``channels_sms:media``.
"""

from __future__ import annotations

import ipaddress
import mimetypes
import re
import socket
from urllib.parse import unquote, urljoin, urlsplit

import requests
from django.urls import reverse

from channels_sms import conf
from hub import files

MAX_REDIRECTS = 5
_SIGNING_SALT = "channels_sms.media"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class MediaUnavailable(Exception):
    """The media cannot be fetched, and trying again will not help."""


class MediaTemporarilyUnavailable(Exception):
    """The media could not be fetched now (network, 5xx, 429): try again later."""


def _host_allowed(host: str) -> bool:
    for pattern in conf.media_hosts():
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
        if host == pattern:
            return True
    return False


def _host_public(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise MediaTemporarilyUnavailable(f"cannot resolve {host}: {exc}") from exc
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_global for a in addresses)


def _is_twilio_api(host: str) -> bool:
    return host == "api.twilio.com" or host.endswith(".twilio.com")


def fetch_media(
    url: str, *, credentials: tuple[str, str] | None, fallback_type: str = ""
) -> tuple[bytes, str]:
    """Download one media item: ``(content, content type)``."""
    max_bytes = conf.media_max_bytes()
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        parts = urlsplit(current)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" or not host:
            raise MediaUnavailable(f"not an https URL: {current[:200]}")
        if not _host_allowed(host) and (hop == 0 or not _host_public(host)):
            where = "host not allowed (TWILIO_MEDIA_HOSTS)" if hop == 0 else "not a public host"
            raise MediaUnavailable(f"{where}: {host}")
        auth = credentials if credentials and _is_twilio_api(host) else None
        try:
            response = requests.get(
                current, auth=auth, timeout=conf.http_timeout(), stream=True, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise MediaTemporarilyUnavailable(f"{type(exc).__name__}: {exc}") from exc
        with response:
            if response.is_redirect and response.headers.get("Location"):
                current = urljoin(current, response.headers["Location"])
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                raise MediaTemporarilyUnavailable(f"HTTP {status} from {host}")
            if status >= 300:
                raise MediaUnavailable(f"HTTP {status} from {host}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise MediaUnavailable(f"larger than {max_bytes} bytes ({declared})")
            chunks, size = [], 0
            try:
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaUnavailable(f"larger than {max_bytes} bytes")
                    chunks.append(chunk)
            except requests.RequestException as exc:
                raise MediaTemporarilyUnavailable(f"{type(exc).__name__}: {exc}") from exc
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if not content_type or content_type == "application/octet-stream":
                content_type = fallback_type or content_type or "application/octet-stream"
            return b"".join(chunks), content_type
    raise MediaUnavailable("too many redirects")


def media_filenames(media: list[dict[str, str]]) -> list[str]:
    """A stable file name per media item (the idempotency marker of the download task): the
    URL's last segment (Twilio's media sid) plus an extension from the content type."""
    names = []
    for item in media:
        path = unquote(urlsplit(item.get("url", "")).path)
        stem = _SAFE_NAME.sub("_", path.rsplit("/", 1)[-1]).strip("._")[:80] or "media"
        if "." not in stem:
            stem += mimetypes.guess_extension(item.get("content_type") or "") or ""
        names.append(stem)
    if len(set(names)) != len(names):
        names = [f"{index + 1}-{name}" for index, name in enumerate(names)]
    return names


def signed_media_url(attachment) -> str:
    """A public URL Twilio can fetch ``attachment`` from, valid ``TWILIO_MEDIA_URL_MAX_AGE``."""
    token = files.sign(attachment, _SIGNING_SALT)
    name = files.safe_filename(attachment.filename)
    return conf.public_base_url() + reverse("channels_sms:media", args=[token, name])


def attachment_id_from_token(token: str) -> int | None:
    return files.signed_id(token, _SIGNING_SALT, conf.media_url_max_age())
