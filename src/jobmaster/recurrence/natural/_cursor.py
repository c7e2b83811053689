"""A cursor over tokens with error helpers that name the position."""

from __future__ import annotations

from typing import NoReturn

from ._tokens import Token

__all__ = ["Cursor"]


class Cursor:
    """Sequential access to the tokens of one expression."""

    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.index = 0
        self.clause = "expression"  # name of the rule being parsed, used in messages

    def peek(self, ahead: int = 0) -> Token | None:
        """The token ``ahead`` positions away, or None past the end."""
        index = self.index + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> Token:
        """Consume and return the next token (error at the end of the text)."""
        token = self.peek()
        if token is None:
            self.fail_at_end("more input")
        self.index += 1
        return token

    def accept(self, kind: str, value: str | None = None) -> Token | None:
        """Consume the next token when it has ``kind`` (and ``value``); else return None."""
        token = self.peek()
        if token is None or token.kind != kind or (value is not None and token.value != value):
            return None
        self.index += 1
        return token

    def expect(self, kind: str, what: str) -> Token:
        """Consume a token of ``kind`` or fail saying ``what`` was expected."""
        token = self.peek()
        if token is None:
            self.fail_at_end(what)
        if token.kind != kind:
            self.fail(f"expected {what}, got {token.text!r}", token)
        self.index += 1
        return token

    def fail(self, message: str, token: Token | int) -> NoReturn:
        """Raise ``ValueError('<clause>: <message> (at position N)')``."""
        position = token if isinstance(token, int) else token.position
        raise ValueError(f"{self.clause}: {message} (at position {position})")

    def fail_at_end(self, what: str) -> NoReturn:
        """Raise for an expression that ends too early."""
        self.fail(f"expected {what} but the expression ended", len(self.text))
