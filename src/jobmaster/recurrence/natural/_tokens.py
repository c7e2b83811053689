"""Tokenizer of NaturalCron expressions; every token keeps its position for errors."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Token", "tokenize"]


@dataclass(frozen=True)
class Token:
    """One lexical token; ``position`` is the 0-based character offset in the text."""

    kind: str  # word, number, ordinal, time, date, zone, [, ], ",", +, -
    text: str
    position: int

    @property
    def value(self) -> str:
        """Lower-cased text without an ``@`` prefix."""
        return self.text.lower().lstrip("@")


_PATTERNS = (
    ("space", r"\s+"),
    ("time", r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?![\w:])|\d{1,2}\s*[ap]m(?!\w)"),
    ("date", r"(?:\d{1,4}|[A-Za-z]{3,9})-(?:\d{1,2}|[A-Za-z]{3,9})(?:-\d{1,2})?(?![\w-])"),
    ("ordinal", r"\d+(?:st|nd|rd|th)[A-Za-z]*"),
    ("number", r"\d+(?![\w:])"),
    ("word", r"@?[A-Za-z]+(?![\d:])"),
    ("[", r"\["),
    ("]", r"\]"),
    (",", r","),
    ("+", r"\+"),
    ("-", r"-"),
)
# Group names are t0, t1, ... so that the kind can be looked up by index.
_TOKEN = re.compile(
    "|".join(f"(?P<t{index}>{rx})" for index, (_, rx) in enumerate(_PATTERNS)), re.IGNORECASE
)
_ZONE = re.compile(r"\s*(\S+)")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raise ``ValueError`` at the first unexpected character."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.lastgroup is None:
            raise ValueError(f"unexpected character {text[position]!r} (at position {position})")
        kind = _PATTERNS[int(match.lastgroup[1:])][0]
        if kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
        if kind == "word" and tokens[-1].value in ("tz", "timezone"):
            zone = _ZONE.match(text, position)
            if zone:
                tokens.append(Token("zone", zone[1], zone.start(1)))
                position = zone.end()
    return tokens
