"""A source's ``last_sync`` (the one datetime a knowledge caller sets and gets back) is aware UTC,
whether given aware or naive (local time, as the seed's ``datetime.now() - timedelta(hours=1)``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from agentstate_redis import InvalidInputError
from agentstate_redis.knowledge import KnowledgeStateManager, SourceState

from ..timezones import EAST_OF_UTC, local_zone, naive_datetimes


async def test_last_sync_comes_back_as_the_same_instant_in_utc(kb: KnowledgeStateManager) -> None:
    with local_zone(EAST_OF_UTC):
        naive = datetime(2025, 3, 1, 12, 0)  # 12:00 at UTC+5:30 is 06:30 UTC
        stored = await kb.update_source_state(SourceState(source_id="wiki", knowledge_base_id="docs", last_sync=naive))
    aware = datetime(2025, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=-2)))  # 10:00 UTC
    await kb.update_source_state(SourceState(source_id="bucket", knowledge_base_id="docs", last_sync=aware))
    sources = {s.source_id: s for s in await kb.get_sources("docs")}
    state = await kb.get_knowledge_base_state("docs")
    assert stored.last_sync == sources["wiki"].last_sync == datetime(2025, 3, 1, 6, 30, tzinfo=timezone.utc)
    assert sources["bucket"].last_sync == datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)
    assert naive_datetimes([stored, sources, state]) == []
    with pytest.raises(InvalidInputError, match="last_sync"):
        SourceState(source_id="wiki", knowledge_base_id="docs", last_sync="yesterday")
