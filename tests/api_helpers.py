"""Reading the API's cursor-paginated lists in tests: a client, the ids of a page, and walks
through the ``next`` and ``previous`` links."""

from __future__ import annotations

from rest_framework.test import APIClient


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def walk(client, url: str, params: dict) -> tuple[list[int], int]:
    """Follow ``next`` links from the first page; return every id seen and the page count."""
    seen: list[int] = []
    pages = 0
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        pages += 1
        seen.extend(ids(response))
        next_url = response.json()["next"]
        if next_url is None:
            return seen, pages
        assert "cursor=" in next_url
        response = client.get(next_url)


def walk_forward(client, url: str, params: dict) -> list[list[int]]:
    """Every page from the first through the ``next`` links; the first has no ``previous``."""
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    assert response.json()["previous"] is None
    pages = []
    while True:
        assert response.status_code == 200, response.content
        pages.append(ids(response))
        if response.json()["next"] is None:
            return pages
        response = client.get(response.json()["next"])
        assert response.json()["previous"] is not None


def walk_back(client, url: str, params: dict) -> list[list[int]]:
    """To the last page through the ``next`` links, then every page back to the first through
    the ``previous`` links; returned first page first."""
    response = client.get(url, params)
    while response.json()["next"]:
        response = client.get(response.json()["next"])
    pages = []
    while True:
        assert response.status_code == 200, response.content
        pages.insert(0, ids(response))
        if response.json()["previous"] is None:
            return pages
        response = client.get(response.json()["previous"])
        assert response.json()["next"] is not None


def flat(pages: list[list[int]]) -> list[int]:
    return [pk for page in pages for pk in page]


def chunks(rows: list[int], size: int) -> list[list[int]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]
