"""ACL users on the tests' own servers: each logs in with the password ``<name>-pw`` and gets only what it is granted.

admin = redis.Redis.from_url(server.url)
add_user(admin, "tenant-a", keys=["tenant-a:*"], channels=["tenant-a:ev:*", "__keyevent@*"])
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

#: What a tenant may run (the README's tenant ACL): everything but @dangerous, with INFO back and CONFIG not.
TENANT_COMMANDS = ("+@all", "-@dangerous", "+info", "-config")


def add_user(
    admin: redis.Redis,
    name: str,
    *,
    keys: Sequence[str],
    channels: Sequence[str] = (),
    commands: Sequence[str] = TENANT_COMMANDS,
) -> None:
    """Create (or redefine) the enabled user ``name`` with password ``<name>-pw`` and these key, channel and
    command rules (no channel rule at all where ``channels`` is empty)."""
    admin.acl_setuser(
        name,
        enabled=True,
        passwords=[f"+{name}-pw"],
        keys=list(keys),
        channels=list(channels),
        commands=list(commands),
    )
