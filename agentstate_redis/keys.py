"""Every Redis key and pub/sub channel name of the library, built in one place.

All keys of one entity share a hash tag, so every script runs unchanged on
Redis Cluster:

    >>> k = Keys("agentstate:")
    >>> k.state("agent:a").base
    'agentstate:{state:agent:a}'
    >>> k.agent("researcher")("snapshots")
    'agentstate:{agent:researcher}:snapshots'
    >>> k.channel("state", "agent:{a}")
    'agentstate:ev:{state:agent:%7Ba%7D}'

Ids are percent-encoded inside keys and channels (``%``, ``{``, ``}``), so the first ``}``
always closes the hash tag, and a prefix may not contain braces: then a key or channel of
prefix ``acme:`` can never be mistaken for one of a nested prefix such as ``acme:ev:state:``
(the character after a prefix is always ``{``, after ``<prefix>ev:`` always ``{`` too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidInputError
from .patterns import IdGlob, utf8

MAX_ID_LENGTH = 1024
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ESCAPES = {"%": "%25", "{": "%7B", "}": "%7D"}
_ESCAPE = re.compile(r"[%{}]")
_UNESCAPE = re.compile(r"%(25|7B|7D)")
_UNESCAPES = {"25": "%", "7B": "{", "7D": "}"}
_TOOL_CACHE = "cache:"  # sub-key of {tool:<name>} holding one cached result (see Keys.tool_cache)


def escape_id(ident: str) -> str:
    """An id as it appears inside a key: ``%``, ``{`` and ``}`` percent-encoded, so an id can
    neither end the hash tag early nor make one entity's key equal another's sub-key."""
    if "%" not in ident and "{" not in ident and "}" not in ident:
        return ident
    return _ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], ident)


def unescape_id(text: str) -> str:
    if "%" not in text:
        return text
    return _UNESCAPE.sub(lambda m: _UNESCAPES[m.group(1)], text)


def escape_glob(text: str) -> str:
    """Escape Redis glob characters so ``text`` matches only itself."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def validate_id(kind: str, value: object, *, what: str | None = None) -> str:
    """Return ``value`` if it is a usable id, else raise InvalidInputError naming it
    (``"<kind> id"``, or ``what`` when the argument has another name)."""
    what = what or f"{kind} id"
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}", kind=kind)
    if not value:
        raise InvalidInputError(f"{what} must not be empty", kind=kind)
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInputError(f"{what} is {len(value)} characters, the maximum is {MAX_ID_LENGTH}", kind=kind)
    if _CONTROL.search(value):
        raise InvalidInputError(f"{what} {value!r} contains a control character", kind=kind)
    if not value.isascii():
        utf8(what, value)
    return value


@dataclass(frozen=True)
class EntityKeys:
    """The keys of one entity: ``base`` and ``base:<suffix>`` share one hash tag."""

    base: str
    kind: str
    ident: str

    def __call__(self, suffix: str) -> str:
        return f"{self.base}:{suffix}"

    @property
    def ops(self) -> str:
        """Hash of recent operation ids and their replies (retry de-duplication), current generation."""
        return self("ops:cur")

    @property
    def ops_prev(self) -> str:
        """The previous generation of :attr:`ops`, kept until the current one is a window old."""
        return self("ops:prev")


class Keys:
    """Key and channel names under one configurable prefix."""

    def __init__(self, prefix: str = "agentstate:") -> None:
        if not isinstance(prefix, str) or not prefix:
            raise InvalidInputError("key_prefix must be a non-empty string")
        if "{" in prefix or "}" in prefix:
            raise InvalidInputError(
                f"key_prefix {prefix!r} must not contain braces: they form hash tags, and a '{{' is what "
                "ends a prefix, so prefixes that nest (acme: and acme:ev:state:) stay apart"
            )
        utf8("key_prefix", prefix)
        self.prefix = prefix
        self._channel_head = f"{prefix}ev:{{"

    def entity(self, kind: str, ident: str) -> EntityKeys:
        validate_id(kind, ident)
        return EntityKeys(f"{self.prefix}{{{kind}:{escape_id(ident)}}}", kind, ident)

    def state(self, key: str) -> EntityKeys:
        return self.entity("state", key)

    def agent(self, agent_id: str) -> EntityKeys:
        return self.entity("agent", agent_id)

    def workflow(self, workflow_id: str) -> EntityKeys:
        return self.entity("wf", workflow_id)

    def team(self, team_id: str) -> EntityKeys:
        return self.entity("team", team_id)

    def tool(self, tool_name: str) -> EntityKeys:
        return self.entity("tool", tool_name)

    def tool_cache(self, tool_name: str, params_hash: str) -> tuple[str, str]:
        """A cached tool result and its compute lock: sub-keys of ``{tool:<name>}``, so one script
        reads the entry and counts the hit in the tool's stats. The entry's expiry reaches
        subscribers as kind ``toolcache``, id ``<tool>:<hash>`` (see :meth:`parse_expired`).

            >>> Keys("p:").tool_cache("search", "ab12")
            ('p:{tool:search}:cache:ab12', 'p:{tool:search}:cachelock:ab12')
        """
        k = self.tool(tool_name)
        h = escape_id(validate_id("toolcache", params_hash, what="parameters_hash"))
        return k(_TOOL_CACHE + h), k("cachelock:" + h)

    def kb(self, knowledge_base_id: str) -> EntityKeys:
        return self.entity("kb", knowledge_base_id)

    def speech(self, session_id: str) -> EntityKeys:
        return self.entity("speech", session_id)

    def index(self, name: str) -> EntityKeys:
        """A cross-entity index (its own hash tag; updated by its own script)."""
        return self.entity("idx", name)

    def entity_pattern(self, kind: str, id_glob: IdGlob | str = "*") -> str:
        """SCAN MATCH pattern for the base keys of ``kind``, narrowed by ``id_glob``'s literal head.

        Ids are escaped in keys, so a glob over ids cannot be sent to Redis as it is: this
        pattern matches every key whose id *may* match (a superset); check each id found with
        ``IdGlob.match``.

            >>> Keys("p:").entity_pattern("state", "agent:[ab]*")
            'p:{state:agent:*}'
        """
        glob = id_glob if isinstance(id_glob, IdGlob) else IdGlob(id_glob)
        head = escape_glob(escape_id(glob.literal_prefix))
        return f"{escape_glob(self.prefix)}{{{kind}:{head}*}}"

    def parse_base(self, redis_key: str) -> tuple[str, str] | None:
        """``'p{state:a:b}'`` -> ``('state', 'a:b')``; None for other keys (sub-keys, foreign keys)."""
        if not redis_key.startswith(self.prefix + "{") or not redis_key.endswith("}"):
            return None
        kind, sep, ident = redis_key[len(self.prefix) + 1 : -1].partition(":")
        return (kind, unescape_id(ident)) if sep and ident else None

    def parse_expired(self, redis_key: str) -> tuple[str, str] | None:
        """The (kind, id) subscribers see when ``redis_key`` expires: an entity's base key as
        :meth:`parse_base`, or a cached tool result (``'p{tool:t}:cache:h'`` -> ``('toolcache', 't:h')``);
        None for other keys (locks and other sub-keys, foreign keys)."""
        parsed = self.parse_base(redis_key)
        if parsed is not None:
            return parsed
        head = self.prefix + "{tool:"
        end = redis_key.find("}")  # ids are escaped: the first brace closes the hash tag
        if end < 0 or not redis_key.startswith(head) or not redis_key.startswith("}:" + _TOOL_CACHE, end):
            return None
        tool, params_hash = redis_key[len(head) : end], redis_key[end + 2 + len(_TOOL_CACHE) :]
        return ("toolcache", f"{unescape_id(tool)}:{unescape_id(params_hash)}") if tool and params_hash else None

    def parse_entity(self, redis_key: str) -> tuple[str, str] | None:
        """The (kind, id) owning any of our keys, base or sub-key (``'p{agent:a}:tools'`` -> ``('agent', 'a')``)."""
        if not redis_key.startswith(self.prefix + "{"):
            return None
        end = redis_key.rfind("}")
        kind, sep, ident = redis_key[len(self.prefix) + 1 : end].partition(":")
        return (kind, unescape_id(ident)) if sep and ident and end > 0 else None

    def channel(self, kind: str, ident: str) -> str:
        """Pub/sub channel that the scripts publish ``kind``'s change events to:
        ``<prefix>ev:{<kind>:<escaped id>}``."""
        return f"{self._channel_head}{kind}:{escape_id(ident)}}}"

    @property
    def channel_pattern(self) -> str:
        """The one PSUBSCRIBE pattern of this prefix's events, ``<prefix>ev:{*``: it matches no
        channel of a nested prefix (after ``<prefix>ev:`` theirs go on with something else)."""
        return f"{escape_glob(self.prefix)}ev:{{*"

    @property
    def legacy_channel_pattern(self) -> str:
        """``<prefix>ev:*``: what the hub subscribed to before channels had braces; used when an
        ACL grants only that (it also sees nested prefixes' channels, which parse_channel drops)."""
        return f"{escape_glob(self.prefix)}ev:*"

    def parse_channel(self, channel: str) -> tuple[str, str] | None:
        """``'p:ev:{state:a%7Bb}'`` -> ``('state', 'a{b')``; None for anything we did not build."""
        head = self._channel_head
        if not channel.startswith(head) or not channel.endswith("}"):
            return None
        kind, sep, escaped = channel[len(head) : -1].partition(":")
        if not sep or not kind or not escaped or "{" in escaped or "}" in escaped or "{" in kind:
            return None
        ident = unescape_id(escaped)
        return (kind, ident) if escape_id(ident) == escaped else None
