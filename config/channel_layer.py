"""channels_redis's layer with a ``group_send`` of fewer Redis round trips.

Every realtime push (an inbound message to its team's agents, an agent's reply to a chat
visitor) is a ``group_send``. channels_redis 4 makes four round trips for a group with members:
expire old members, list them, expire old messages of each member's channel, then ``EVAL`` of
the whole Lua script text; two for an empty group. Each is a command through redis-py's asyncio
client on the event loop that every socket of the process shares. Here the first two go in one
pipeline and the last two in one cached script (``EVALSHA``) that also expires the old
messages: one round trip for an empty group, two otherwise. What is stored, where and with
which capacity is channels_redis's own (``_map_channel_keys_to_connection``), unchanged.
"""

from __future__ import annotations

import logging
import time

from channels_redis.core import RedisChannelLayer

logger = logging.getLogger(__name__)

# channels_redis's group_send script, plus the expiry of each channel's old messages that it
# does in a round trip of its own.
GROUP_SEND_LUA = """
local over_capacity = 0
local current_time = ARGV[#ARGV - 2]
local expiry = ARGV[#ARGV - 1]
local expired_before = ARGV[#ARGV]
for i=1,#KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, expired_before)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


class HubRedisChannelLayer(RedisChannelLayer):
    async def group_send(self, group, message):
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        pipe = connection.pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        pipe.zrange(key, 0, -1)
        _, members = await pipe.execute()
        if not members:
            return
        channel_names = [x.decode("utf8") for x in members]
        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channel_names, message
        )
        for index, channel_keys in by_connection.items():
            now = time.time()
            args = [messages[k] for k in channel_keys] + [capacities[k] for k in channel_keys]
            args += [now, self.expiry, int(now) - int(self.expiry)]
            script = self.connection(index).register_script(GROUP_SEND_LUA)
            over_capacity = await script(keys=channel_keys, args=args)
            if over_capacity > 0:
                logger.info(
                    "%s of %s channels over capacity in group %s",
                    over_capacity,
                    len(channel_names),
                    group,
                )
