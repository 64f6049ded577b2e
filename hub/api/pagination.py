from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Cursor pagination: stable under inserts and constant cost at any depth."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ConversationCursorPagination(IdCursorPagination):
    ordering = ("-last_activity_at", "-id")


class TimelineCursorPagination(IdCursorPagination):
    ordering = ("occurred_at", "id")
