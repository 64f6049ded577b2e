"""WebSocket for agents: live events of the conversations of their teams.

The socket only pushes; a client that reconnects asks the REST timeline for everything after its
last cursor, so a push missed while disconnected is never a lost message.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from hub.selectors import teams_of
from hub.services.realtime import team_group


@database_sync_to_async
def _groups_for(user) -> list[str]:
    return [team_group(pk) for pk in teams_of(user).values_list("pk", flat=True)]


class AgentEventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = await _groups_for(user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def hub_event(self, event) -> None:
        await self.send_json(
            {
                "event": event["event"],
                "conversation_id": event["conversation_id"],
                "data": event["data"],
            }
        )

    async def hub_events(self, event) -> None:
        """A batch (the SLA sweep's warnings, an import's messages): one frame per item, as if
        each had been pushed alone. An item is a conversation or names its conversation."""
        for item in event["items"]:
            conversation_id = item.get("conversation_id", item["id"])
            await self.send_json(
                {"event": event["event"], "conversation_id": conversation_id, "data": item}
            )
