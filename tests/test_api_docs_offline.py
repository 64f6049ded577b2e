"""/api/docs/ works without internet: Swagger UI is served from the installed
drf-spectacular-sidecar package, never from a CDN."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def _asset_urls(html: str) -> list[str]:
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    # The page's script also builds URLs in JavaScript strings: catch any absolute one.
    urls += re.findall(r"""["'](https?://[^"']+|//[^"']+)["']""", html)
    return urls


def test_the_docs_page_loads_only_local_static_files(settings):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = _asset_urls(html)
    assert urls, html
    assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    static = [u for u in urls if u.startswith(prefix)]
    assert any("swagger-ui" in u and u.endswith(".js") for u in static), urls
    assert any(u.endswith(".css") for u in static), urls
    for url in static:
        path = url[len(prefix) :].split("?")[0]
        assert finders.find(path), f"{url} does not resolve to a static file"
        served = Client().get(url)
        assert served.status_code == 200, url
