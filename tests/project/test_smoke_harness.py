from agentstate_redis import StateManager


async def test_save_and_get_on_every_backend(state: StateManager) -> None:
    assert await state.save("agent:a", {"n": 1}) == 1
    assert await state.get("agent:a") == {"n": 1}
