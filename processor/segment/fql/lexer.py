"""A line-by-line port of ``@segment/fql-ts`` 1.10.1's lexer (``lexer.js``, ``reader.js``).

Kept deliberately literal, quirks included, because which tokens come out decides which events
match: ``accept`` needs a terminator after ``and``/``or``/``null``/``!=``/``<=``; a string's closing
quote is only consumed when a terminator follows it (otherwise it reopens the next string); at
the end of input a partial ``an``/``nu``/``nul`` swallows its tail. The lexer runs over UTF-16
code units (see ``processor.segment.js.to_units``) so lengths and positions match JavaScript's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from processor.errors import InternalSignal

EOS_FLAG: Final = "-1"  # what fql-ts's reader hands out at the end of input (yes, a string)
MAXIMUM_LENGTH: Final = 100000

IDENT, DOT, OPERATOR, CONDITIONAL, STRING, NUMBER, NULL = (
    "ident",
    "dot",
    "operator",
    "conditional",
    "string",
    "number",
    "null",
)
BRACKLEFT, BRACKRIGHT, PARENLEFT, PARENRIGHT, COMMA, EOS = (
    "brackleft",
    "brackright",
    "parenleft",
    "parenright",
    "comma",
    "eos",
)

_TERMINATORS: Final = frozenset({EOS_FLAG, " ", "\t", "\n", ",", "]", ")"})
_DIGITS: Final = frozenset("0123456789")
_ALPHA: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_IDENT_EXTRA: Final = frozenset("_-\\")
_SINGLE: Final = {".": DOT, "[": BRACKLEFT, "]": BRACKRIGHT, ",": COMMA, "(": PARENLEFT, ")": PARENRIGHT}


@dataclass(frozen=True, slots=True)
class Token:
    type: str
    value: str
    pos: int  # code-unit offset of the token's first character


class LexerError(InternalSignal):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def is_terminator(char: str) -> bool:
    return char in _TERMINATORS


def _is_ident(char: str) -> bool:
    return char in _ALPHA or char in _DIGITS or char in _IDENT_EXTRA


class Lexer:
    """Turns FQL into tokens; ``notes`` collects (position, text) of lexing quirks for warnings."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.position = 0
        self.notes: list[tuple[int, str]] = []

    # reader.js
    def _next(self) -> tuple[str, bool]:
        if self.position == len(self.code):
            return EOS_FLAG, True
        char = self.code[self.position]
        self.position += 1
        return char, False

    def _peek(self) -> str:
        char, is_eos = self._next()
        if not is_eos:
            self._backup(1)
        return char

    def _backup(self, count: int) -> None:
        for _ in range(count):
            if self.position == 0:
                return
            self.position -= 1

    def _accept(self, text: str) -> bool:
        start = self.position
        chars = ""
        for _ in text:
            char, is_eos = self._next()
            chars += char
            if is_eos:
                if self.position > start:
                    self.notes.append(
                        (start, f"the trailing {self.code[start:self.position]!r} is silently dropped")
                    )
                return False  # no backup: fql-ts loses what it read
            if is_terminator(char):
                break
        if text == chars and is_terminator(self._peek()):
            return True
        self._backup(len(chars))
        return False

    def lex(self) -> list[Token]:
        tokens: list[Token] = []
        while True:
            start = self.position
            char, is_eos = self._next()
            if is_eos:
                tokens.append(Token(EOS, "eos", start))
                return tokens
            if char in (" ", "\t", "\n"):
                continue
            if char == "!":
                following = self._peek()
                if following in _ALPHA or following == "(":
                    tokens.append(Token(OPERATOR, "!", start))
                    continue
            if char in _ALPHA or char in "!=><\\_":
                tokens.append(self._lex_operator_or_conditional(char, start))
                continue
            if char in _DIGITS or char in "-+":
                tokens.append(self._lex_number(char, start))
                continue
            if char in "\"'":
                tokens.append(self._lex_string(char, start))
                continue
            single = _SINGLE.get(char)
            if single is not None:
                tokens.append(Token(single, char, start))
                continue
            raise LexerError(f'invalid character "{char}"', start)

    def _lex_string(self, quote: str, start: int) -> Token:
        chars: list[str] = []
        while self._peek() != quote:
            char, is_eos = self._next()
            chars.append(char)
            if is_eos:
                raise LexerError("unterminated string", start)
            if len(chars) >= MAXIMUM_LENGTH:
                raise LexerError("unreasonable string length", start)
        closing = self.position
        if not self._accept(quote):
            self.notes.append(
                (
                    closing,
                    "a closing quote not followed by a space, ',' or ')' also opens the next string "
                    "(there are no escapes inside strings)",
                )
            )
        return Token(STRING, f"{quote}{''.join(chars)}{quote}", start)

    def _lex_number(self, previous: str, start: int) -> Token:
        chars = ""
        coming = self._peek()
        is_decimal = False
        while coming in _DIGITS or coming == ".":
            char, _ = self._next()
            chars += char
            if coming == ".":
                if is_terminator(self._peek()):
                    raise LexerError("unexpected terminator after decimal point", self.position)
                if is_decimal:
                    raise LexerError("multiple decimal points in one number", self.position)
                is_decimal = True
            if len(chars) >= MAXIMUM_LENGTH:
                raise LexerError("unreasonable number length", start)
            coming = self._peek()
        return Token(NUMBER, previous + chars, start)

    def _lex_operator_or_conditional(self, previous: str, start: int) -> Token:
        if previous == "=":
            return Token(OPERATOR, "=", start)
        if previous == "!":
            if self._accept("="):
                return Token(OPERATOR, "!=", start)
            raise LexerError(f"expected '=' after '!', got '{self._peek()}'", start)
        if previous == "a":
            if self._accept("nd"):
                return Token(CONDITIONAL, "and", start)
            return self._lex_ident(previous, start)
        if previous == "o":
            if self._accept("r"):
                return Token(CONDITIONAL, "or", start)
            return self._lex_ident(previous, start)
        if previous == "n":
            if self._accept("ull"):
                return Token(NULL, "null", start)
            return self._lex_ident(previous, start)
        if previous in ("<", ">"):
            if self._accept("="):
                return Token(OPERATOR, previous + "=", start)
            if self._peek() == "=":
                self.notes.append((start, f"'{previous}=' needs a space after it, else it reads as '{previous}' then '='"))
            return Token(OPERATOR, previous, start)
        return self._lex_ident(previous, start)

    def _lex_ident(self, previous: str, start: int) -> Token:
        chars: list[str] = []
        char = previous
        while True:
            if char == "\\":
                if self._peek() == EOS_FLAG:
                    raise LexerError("expected character after escape character, got EOS", self.position)
                char, _ = self._next()
            chars.append(char)
            if len(chars) >= MAXIMUM_LENGTH:
                raise LexerError("unreasonable literal length", start)
            if not _is_ident(self._peek()):
                break
            char, _ = self._next()
        coming = self._peek()
        if not (is_terminator(coming) or coming in (".", "(", "=", "!")):
            raise LexerError(f"expected termination character after identifier, got {coming}", self.position)
        return Token(IDENT, "".join(chars), start)


def normalize(tokens: list[Token]) -> list[Token]:
    """``parse-fql``'s ``normalize``: join ``ident . ident`` runs into one dotted identifier."""
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        current = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if out and out[-1].type == IDENT and current.type == DOT and following is not None and following.type == IDENT:
            previous = out.pop()
            out.append(Token(IDENT, f"{previous.value}.{following.value}", previous.pos))
            index += 2
        else:
            out.append(current)
            index += 1
    return out
