"""Which TTL policy applies to a conversation, resolved with its team's business hours."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from hub import adapters, config_cache
from hub.business_hours import InvalidSchedule, Schedule
from hub.models import BusinessHours, Conversation, TtlPolicy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedPolicy:
    first_response: timedelta | None
    next_response: timedelta | None
    resolution: timedelta | None = None
    warning_percent: int = 75
    schedule: Schedule | None = None
    handoff_mode: str = TtlPolicy.HandoffMode.OFF
    handoff_channels: list[str] = field(default_factory=list)
    escalation_team_id: int | None = None

    def ttl(self, kind: str) -> timedelta | None:
        if kind == "first_response":
            return self.first_response
        return self.next_response or self.first_response


def _schedule_for(team_id: int) -> Schedule | None:
    def load() -> Schedule | None:
        hours = BusinessHours.objects.filter(team_id=team_id).prefetch_related("holidays").first()
        if hours is None:
            return None
        try:
            return Schedule.from_config(
                hours.time_zone, hours.weekly, holidays=[h.date for h in hours.holidays.all()]
            )
        except InvalidSchedule as exc:
            # Stored before schedules were validated, or edited in the database: the clock
            # runs 24/7 rather than failing every ingest of the team (and quarantining mail).
            logger.warning(
                "business hours of team %s not usable (%s): the clock runs 24/7", team_id, exc
            )
            return None

    return config_cache.cached(f"schedule:{team_id}", load)


def _policies() -> tuple[dict[int, TtlPolicy], dict[str, TtlPolicy]]:
    """All TTL policies, by endpoint id and (defaults) by channel: a handful of rows."""

    def load():
        by_endpoint, by_channel = {}, {}
        for policy in TtlPolicy.objects.all():
            if policy.endpoint_id:
                by_endpoint[policy.endpoint_id] = policy
            else:
                by_channel[policy.channel] = policy
        return by_endpoint, by_channel

    return config_cache.cached("ttl_policies", load)


def policy_for(conversation: Conversation) -> ResolvedPolicy:
    """The endpoint's policy, else the channel's, else the channel adapter's default TTLs."""
    by_endpoint, by_channel = _policies()
    policy = by_endpoint.get(conversation.endpoint_id) or by_channel.get(conversation.channel)
    if policy is None:
        try:
            capabilities = adapters.get_adapter(conversation.channel).capabilities
        except LookupError:
            return ResolvedPolicy(None, None)
        return ResolvedPolicy(capabilities.first_response_ttl, capabilities.next_response_ttl)
    schedule = _schedule_for(conversation.team_id) if policy.business_hours_only else None
    return ResolvedPolicy(
        first_response=policy.first_response,
        next_response=policy.next_response,
        resolution=policy.resolution,
        warning_percent=min(max(policy.warning_percent, 1), 100),
        schedule=schedule,
        handoff_mode=policy.handoff_mode,
        handoff_channels=[c for c in policy.handoff_channels if isinstance(c, str)],
        escalation_team_id=policy.escalation_team_id,
    )
