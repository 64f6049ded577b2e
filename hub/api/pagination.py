import heapq
import itertools

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


class PerTeamMerge:
    """What the cursor pagination reads an agent's conversation list from when it spans a few
    teams: its ordering and position filter go to one query per team, each an ordered scan of
    that team's index, and the page is merged here.

    One query for all the teams (``team_id IN (...)``, newest first) walks the activity index of
    every team and skips the rows of other teams: after 15,000 newer conversations elsewhere a
    page took 100 ms instead of 15. PostgreSQL cannot order an IN-list index scan across its
    values, so the merge is done per team.
    """

    def __init__(self, queryset, team_ids: list[int]):
        self.queryset = queryset
        self.team_ids = team_ids

    def order_by(self, *fields):
        return PerTeamMerge(self.queryset.order_by(*fields), self.team_ids)

    def filter(self, *args, **kwargs):
        return PerTeamMerge(self.queryset.filter(*args, **kwargs), self.team_ids)

    def __getitem__(self, window: slice) -> list:
        ordering = [str(field) for field in self.queryset.query.order_by]
        descending = {field.startswith("-") for field in ordering}
        if len(descending) != 1 or window.stop is None:  # mixed directions: no simple merge
            return list(self.queryset[window])
        names = [field.lstrip("-") for field in ordering]
        parts = [list(self.queryset.filter(team_id=team)[: window.stop]) for team in self.team_ids]
        merged = heapq.merge(
            *parts,
            key=lambda row: tuple(getattr(row, name) for name in names),
            reverse=descending.pop(),
        )
        return list(itertools.islice(merged, window.start or 0, window.stop))
