"""Redis's glob, exactly, over the UTF-8 bytes of ids as the user wrote them.

``list_keys(pattern)`` and every ``subscribe(pattern, ...)`` match ids with this one
function, so both agree with each other and with what Redis's own ``SCAN MATCH`` or
``PSUBSCRIBE`` would answer over the raw ids:

    >>> IdGlob("agent:*").match("agent:a")
    True
    >>> IdGlob("caf?").match("café")      # '?' is one byte, as in Redis: 'é' is two
    False
    >>> IdGlob("a[b-a]b").match("aab")    # a reversed range is swapped, as Redis does
    True
    >>> IdGlob("a[]]b").match("a]b")      # ']' right after '[' closes an empty set: no match
    False

The syntax is Redis's (``util.c`` ``stringmatchlen``): ``*`` any bytes, ``?`` one byte,
``[abc]`` ``[^abc]`` ``[a-z]`` one byte of a set (bytes compared as C's signed ``char``,
ranges given backwards are swapped, a ``\\`` escapes inside a set, a set left open runs to
the end of the pattern), ``\\x`` the byte ``x``, anything else itself. Redis never rejects a
pattern; we refuse only what cannot be sent or would make Redis's matcher give up: text
that is not valid Unicode (a lone surrogate), an empty pattern, more than ``MAX_PATTERN_CHARS``
characters, or more than ``MAX_STAR_GROUPS`` separate ``*`` runs (Redis stops matching
such a pattern past 1000 levels of nesting, so it would silently match less).
"""

from __future__ import annotations

from .errors import InvalidInputError

#: The longest pattern accepted, in characters (an id has at most 1024; escapes double that).
MAX_PATTERN_CHARS = 4096
#: The most separate ``*`` runs a pattern may have (Redis gives up nesting deeper than 1000).
MAX_STAR_GROUPS = 1000

_STAR = None
_ALL = frozenset(range(256))
_SPECIAL = frozenset(b"*?[")


def utf8(what: str, text: str) -> bytes:
    """``text`` as UTF-8, or InvalidInputError naming ``what`` (a lone surrogate cannot be sent)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{what} {text[:80]!r} is not valid Unicode text: {exc.reason} at index {exc.start}"
        ) from None


def _signed(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def _byte_set(p: bytes, i: int) -> tuple[frozenset[int], int]:
    """The set that starts after the '[' at ``p[i - 1]``; returns it and the index after it."""
    n = len(p)
    negate = i < n and p[i] == 0x5E  # '^'
    if negate:
        i += 1
    accepted: set[int] = set()
    while True:
        left = n - i
        if left >= 2 and p[i] == 0x5C:  # '\\' escapes the next byte
            i += 1
            accepted.add(p[i])
        elif left > 0 and p[i] == 0x5D:  # ']'
            break
        elif left <= 0:  # open set: it runs to the end of the pattern
            i -= 1
            break
        elif left >= 3 and p[i + 1] == 0x2D:  # 'a-z'
            start, end = _signed(p[i]), _signed(p[i + 2])
            if start > end:
                start, end = end, start
            accepted.update(b for b in range(256) if start <= _signed(b) <= end)
            i += 2
        else:
            accepted.add(p[i])
        i += 1
    return frozenset(_ALL - accepted if negate else accepted), i + 1


def _tokens(p: bytes) -> tuple[list[frozenset[int] | None], bytes]:
    """Pattern bytes -> one token per matched byte (a set of bytes, or _STAR for a ``*`` run),
    and the literal bytes every match starts with."""
    tokens: list[frozenset[int] | None] = []
    literal = bytearray()
    open_literal = True
    i, n = 0, len(p)
    while i < n:
        c = p[i]
        if c == 0x2A:  # '*'
            while i < n and p[i] == 0x2A:
                i += 1
            tokens.append(_STAR)
            open_literal = False
            continue
        if c == 0x3F:  # '?'
            tokens.append(_ALL)
            open_literal = False
            i += 1
            continue
        if c == 0x5B:  # '['
            token, i = _byte_set(p, i + 1)
            tokens.append(token)
            open_literal = False
            continue
        if c == 0x5C and n - i >= 2:  # '\\x' is x
            i += 1
            c = p[i]
        tokens.append(frozenset((c,)))
        if open_literal:
            literal.append(c)
        i += 1
    return tokens, bytes(literal)


class IdGlob:
    """One validated pattern, ready to match ids (see the module docstring).

    >>> g = IdGlob("team-[0-9]*")
    >>> g.match("team-7a"), g.match("team-x")
    (True, False)
    >>> g.literal_prefix      # every match starts with it: narrows a SCAN MATCH
    'team-'
    """

    __slots__ = ("_any", "_tokens", "literal_prefix", "pattern")

    def __init__(self, pattern: object, *, what: str = "pattern") -> None:
        if not isinstance(pattern, str):
            raise InvalidInputError(f"{what} must be a string, got {type(pattern).__name__}")
        if not pattern:
            raise InvalidInputError(f"{what} must not be empty (use '*' for every id)")
        if len(pattern) > MAX_PATTERN_CHARS:
            raise InvalidInputError(f"{what} is {len(pattern)} characters, the maximum is {MAX_PATTERN_CHARS}")
        raw = utf8(what, pattern)
        tokens, literal = _tokens(raw)
        stars = tokens.count(_STAR)
        if stars > MAX_STAR_GROUPS:
            raise InvalidInputError(
                f"{what} has {stars} separate '*' runs, the maximum is {MAX_STAR_GROUPS} "
                "(Redis stops matching deeper than that)"
            )
        self.pattern = pattern
        self._tokens = tokens
        self._any = tokens == [_STAR]
        # The literal head ends before an ASCII special, so it is whole UTF-8 characters.
        self.literal_prefix = literal.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"IdGlob({self.pattern!r})"

    def match(self, ident: str) -> bool:
        """Whether Redis's glob matches ``ident``'s UTF-8 bytes."""
        return self.match_bytes(ident.encode("utf-8", "surrogatepass"))

    def match_bytes(self, s: bytes) -> bool:
        """Redis's ``stringmatchlen(pattern, s)``: ``*`` takes any run of bytes, every other
        token one byte. Backtracking to the last ``*`` only is complete here because no
        other token takes more than one byte (Redis's recursion finds the same answers)."""
        if not s:  # Redis matches an empty string with the empty pattern only
            return not self._tokens
        if self._any:
            return True
        tokens = self._tokens
        nt, ns = len(tokens), len(s)
        ti = si = 0
        star_ti = star_si = -1
        while si < ns:
            if ti < nt:
                token = tokens[ti]
                if token is _STAR:
                    star_ti, star_si = ti, si
                    ti += 1
                    continue
                if s[si] in token:
                    ti += 1
                    si += 1
                    continue
            if star_ti < 0:
                return False
            star_si += 1
            si = star_si
            ti = star_ti + 1
        while ti < nt and tokens[ti] is _STAR:
            ti += 1
        return ti == nt
