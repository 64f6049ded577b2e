"""SLA reports: attainment and response-time distributions per channel, team, agent or day."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from hub.models import Channel, SlaRecord, Team

GROUPS = ("channel", "team", "agent", "day")


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p90 of [1..10] is 9); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _key(record: dict, group_by: str):
    if group_by == "day":
        return timezone.localtime(record["started_at"]).date().isoformat()
    if group_by == "team":
        return record["team_id"]
    if group_by == "agent":
        return record["agent_id"]
    return record["channel"]


def _labels(group_by: str, keys) -> dict:
    if group_by == "team":
        return dict(Team.objects.filter(pk__in=keys).values_list("pk", "name"))
    if group_by == "agent":
        users = get_user_model().objects.filter(pk__in=[k for k in keys if k])
        return {u.pk: u.get_username() for u in users} | {None: "(nobody)"}
    if group_by == "channel":
        return dict(Channel.choices)
    return {key: key for key in keys}


def sla_report(*, since: datetime, until: datetime, group_by: str, teams=None) -> list[dict]:
    """One row per group for clocks started in [since, until): how many, how many met their TTL
    (stopped before the due time), breaches, handoffs, and first/next response time median and
    p90 in seconds."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {GROUPS}")
    records = SlaRecord.objects.filter(started_at__gte=since, started_at__lt=until)
    if teams is not None:
        records = records.filter(team__in=teams)
    rows = records.values(
        "kind",
        "channel",
        "team_id",
        "agent_id",
        "started_at",
        "stopped_at",
        "waited",
        "breached",
        "handed_off",
        "outcome",
    )
    groups: dict = defaultdict(
        lambda: {
            "clocks": 0,
            "finished": 0,
            "met": 0,
            "breaches": 0,
            "handoffs": 0,
            "first": [],
            "next": [],
        }
    )
    for row in rows.iterator(chunk_size=2000):
        group = groups[_key(row, group_by)]
        group["breaches"] += row["breached"]
        if row["kind"] == SlaRecord.Kind.RESOLUTION:
            continue
        group["clocks"] += 1
        group["handoffs"] += row["handed_off"]
        # Decided when the clock stopped (a running clock counts once the sweep breached it);
        # a clock closed by a merge in time counts neither way.
        if row["breached"] or row["outcome"] == SlaRecord.Outcome.MET:
            group["finished"] += 1
            group["met"] += not row["breached"]
        if row["stopped_at"] and row["waited"] is not None:
            bucket = "first" if row["kind"] == SlaRecord.Kind.FIRST_RESPONSE else "next"
            group[bucket].append(row["waited"].total_seconds())
    labels = _labels(group_by, list(groups))
    report = []
    for key in sorted(groups, key=lambda k: (k is None, str(k))):
        group = groups[key]
        report.append(
            {
                "key": key,
                "label": labels.get(key, str(key)),
                "clocks": group["clocks"],
                "met": group["met"],
                "attainment": round(group["met"] / group["finished"], 4)
                if group["finished"]
                else None,
                "breaches": group["breaches"],
                "handoffs": group["handoffs"],
                "first_response_median": statistics.median(group["first"])
                if group["first"]
                else None,
                "first_response_p90": percentile(group["first"], 0.9),
                "next_response_median": statistics.median(group["next"]) if group["next"] else None,
                "next_response_p90": percentile(group["next"], 0.9),
            }
        )
    return report
