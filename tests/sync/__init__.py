"""Tests of the blocking API (agentstate_redis.sync) and the sync tracking mixin."""
