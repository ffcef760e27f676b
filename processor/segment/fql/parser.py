"""A port of ``parse-fql.js`` from ``@segment/destination-subscriptions`` 3.37.0.

The reference parser is not a grammar: it walks tokens left to right, builds a condition when
it meets a known field, ignores whatever it does not recognise, and combines every condition
of one parenthesis level with the *last* ``and``/``or`` it saw. This port reproduces that reading
exactly and, alongside, records a plain-words warning wherever the reading is likely not what
the author meant (``Parser.warnings``).

Errors: ``ParseFailure`` carries the message Segment's runtime reports (``reference``), a clearer
message of our own and a position. Triggers Segment accepts but that throw while *evaluating*
(an empty ``()`` next to other conditions, a path made only of separators) are refused here too,
since a self-hosted processor should not fail per event on configuration alone.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Union

from processor.errors import InternalSignal

from ..js import ALL_BUILTIN_NAMES, OBJECT_PROTO, string_to_number, to_string
from .lexer import (
    CONDITIONAL,
    EOS,
    IDENT,
    NULL,
    NUMBER,
    OPERATOR,
    PARENLEFT,
    PARENRIGHT,
    STRING,
    Token,
)

TOKEN_TO_CONDITION = {
    "type": "event-type",
    "event": "event",
    "name": "name",
    "userId": "userId",
    "context": "event-context",
    "properties": "event-property",
    "traits": "event-trait",
}
PATH_TYPES = {"event-property": "properties", "event-trait": "traits", "event-context": "context"}
TOP_LEVEL_FIELDS = {"event-type": "type", "event": "event", "name": "name", "userId": "userId"}
# Operators validate.js knows; anything else never matches.
KNOWN_OPERATORS = frozenset(
    "= != < <= > >= number_equals number_not_equals contains not_contains starts_with "
    "not_starts_with ends_with not_ends_with exists not_exists is_true is_false".split()
)
_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
_PATH_SEGMENT = re.compile(r"[^\[.\]]+")
UNDEFINED_READ = "Cannot read properties of undefined (reading 'type')"


@dataclass(frozen=True, slots=True)
class Condition:
    type: str  # event-type | event | name | userId | event-property | event-trait | event-context
    operator: str
    value: str | float | bool | None  # None: no value (exists / not_exists / is_true / is_false)
    name: str | None = None  # path below properties/traits/context
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Group:
    operator: str
    children: tuple[Node | None, ...]  # None: an empty "()" (JavaScript undefined)
    pos: int = 0


Node = Union[Condition, Group]


class ParseFailure(InternalSignal):
    """``reference``: Segment's message (after "Invalid subscription : "), or None if Segment accepts
    the trigger but throws per event."""

    def __init__(self, message: str, pos: int, reference: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.reference = reference


def token_value(token: Token) -> str | float | bool:
    """``getTokenValue``: strips double quotes only; numbers via ``Number()``; true/false idents."""
    if token.type == STRING:
        value = token.value
        value = value[1:] if value.startswith('"') else value
        return value[:-1] if value.endswith('"') else value
    if token.type == NUMBER:
        return string_to_number(token.value)
    if token.type == IDENT and token.value in ("true", "false"):
        return token.value == "true"
    return token.value


def _show(token: Token) -> str:
    return "end of input" if token.type == EOS else f"`{token.value}`"


@dataclass
class Parser:
    """One parse of one trigger; ``text`` is the code-unit string the tokens index into."""

    text: str
    warnings: list[tuple[int, str]] = field(default_factory=list)

    def warn(self, pos: int, message: str) -> None:
        self.warnings.append((pos, message))

    def parse_trigger(self, tokens: list[Token]) -> Group:
        ast = self._parse(deque(tokens))
        if ast is None:
            raise ParseFailure(
                "no condition Segment recognises (fields are type, event, name, userId, "
                "properties.*, traits.*, context.*; functions contains() and match())",
                0,
                UNDEFINED_READ,
            )
        self._check_runtime(ast)
        if isinstance(ast, Group):
            return ast
        return Group("and", (ast,), ast.pos)

    # -- parse-fql.js `parse` ---------------------------------------------------------------
    def _parse(self, tokens: deque[Token]) -> Node | None:
        nodes: list[Node | None] = []
        operator = "and"
        conditionals: list[Token] = []
        ignored: list[Token] = []
        token = tokens.popleft() if tokens else None
        while token is not None and token.type != EOS:
            handled = False
            if token.type == IDENT:
                head = token.value.split(".")[0]
                condition_type = TOKEN_TO_CONDITION.get(head)
                if condition_type is None and head in OBJECT_PROTO:
                    # `tokenToConditionType[head]` finds Object.prototype members too: the
                    # reference then takes an operator and a value but builds nothing.
                    op_token, value_token = self._operands(tokens)
                    self.warn(
                        token.pos,
                        f"`{token.value} {op_token.value} {value_token.value}` is silently ignored "
                        f"(`{head}` is a JavaScript built-in name, not a trigger field)",
                    )
                    handled = True
                elif condition_type is not None:
                    op_token, value_token = self._operands(tokens)
                    nodes.append(self._condition(condition_type, token, op_token, value_token))
                    handled = True
                if token.value in ("contains", "match"):
                    self._function(token, token.value, nodes, tokens, negate=False)
                    handled = True
            if token.type == OPERATOR and token.value == "!":
                if not tokens:
                    raise ParseFailure("`!` at the end", token.pos, UNDEFINED_READ)
                if tokens[0].type == IDENT and tokens[0].value in ("contains", "match"):
                    name_token = tokens.popleft()
                    self._function(name_token, name_token.value, nodes, tokens, negate=True)
                else:
                    self.warn(
                        token.pos,
                        "`!` is ignored unless it comes right before contains( or match(: "
                        f"the {_show(tokens[0])} after it is NOT negated",
                    )
                handled = True
            if token.type == PARENLEFT:
                group: deque[Token] = deque()
                inner = tokens.popleft() if tokens else None
                while inner is None or inner.type != PARENRIGHT:
                    if inner is None:
                        raise ParseFailure(
                            "unclosed `(` (note: Segment does not support nested parentheses; "
                            "a group ends at the first `)`)",
                            token.pos,
                            UNDEFINED_READ,
                        )
                    group.append(inner)
                    inner = tokens.popleft() if tokens else None
                group.append(Token(EOS, "eos", inner.pos))
                nodes.append(self._parse(group))
                handled = True
            if token.type == CONDITIONAL:
                operator = token.value
                conditionals.append(token)
                handled = True
            if handled:
                self._flush_ignored(ignored)
            else:
                ignored.append(token)
            token = tokens.popleft() if tokens else None
        self._flush_ignored(ignored)
        self._check_conditionals(conditionals, len(nodes))
        if len(nodes) > 1:
            return Group(operator, tuple(nodes), nodes[0].pos if nodes[0] else 0)
        return nodes[0] if nodes else None

    def _operands(self, tokens: deque[Token]) -> tuple[Token, Token]:
        if not tokens:
            raise ParseFailure("operator missing after the field", len(self.text), "Operator token is missing")
        op_token = tokens.popleft()
        if not tokens:
            raise ParseFailure("value missing after the operator", op_token.pos, "Value token is missing")
        return op_token, tokens.popleft()

    def _flush_ignored(self, ignored: list[Token]) -> None:
        if not ignored:
            return
        start = ignored[0]
        text = " ".join(t.value for t in ignored)
        if start.type == IDENT:
            reason = (
                f"`{start.value}` is not a field Segment's triggers know (type, event, name, userId, "
                "properties.*, traits.*, context.*), so it does not restrict the match"
            )
        else:
            reason = "these tokens are not part of any condition"
        self.warn(start.pos, f"`{text}` is silently ignored: {reason}")
        ignored.clear()

    def _check_conditionals(self, conditionals: list[Token], node_count: int) -> None:
        kinds = {t.value for t in conditionals}
        if len(kinds) > 1:
            last = conditionals[-1].value
            self.warn(
                conditionals[0].pos,
                f"`and` and `or` are mixed without parentheses: Segment combines ALL conditions of "
                f"this chain with the last one, `{last}`, so "
                + ("ANY one of them is enough" if last == "or" else "ALL of them must hold")
                + " (add parentheses to group them)",
            )
        if conditionals and node_count <= 1:
            self.warn(conditionals[-1].pos, f"`{conditionals[-1].value}` joins nothing and is ignored")

    # -- one condition ------------------------------------------------------------------------
    def _condition(self, condition_type: str, field_token: Token, op_token: Token, value_token: Token) -> Condition:
        op, raw = op_token.value, value_token.value
        is_true = op == "=" and raw == "true"
        is_false = op == "=" and raw == "false"
        is_exists = op == "!=" and raw == "null"
        is_not_exists = op == "=" and raw == "null"
        is_number_equals = op == "=" and value_token.type == NUMBER
        is_number_not_equals = op == "!=" and value_token.type == NUMBER
        pos = field_token.pos
        self._check_operands(condition_type, field_token, op_token, value_token)
        if condition_type in ("event", "event-type"):
            return Condition(condition_type, op, to_string(token_value(value_token)), pos=pos)
        if condition_type == "name" or condition_type == "userId":
            if is_exists:
                return Condition(condition_type, "exists", None, pos=pos)
            if is_not_exists:
                return Condition(condition_type, "not_exists", None, pos=pos)
            if condition_type == "userId" and is_true:
                return Condition(condition_type, "is_true", None, pos=pos)
            if condition_type == "userId" and is_false:
                return Condition(condition_type, "is_false", None, pos=pos)
            return Condition(condition_type, op, to_string(token_value(value_token)), pos=pos)
        root = PATH_TYPES[condition_type]
        name = self._path_name(field_token.value, root, field_token.pos)
        if is_exists:
            return Condition(condition_type, "exists", None, name, pos)
        if is_not_exists:
            return Condition(condition_type, "not_exists", None, name, pos)
        if is_true:
            return Condition(condition_type, "is_true", None, name, pos)
        if is_false:
            return Condition(condition_type, "is_false", None, name, pos)
        if is_number_equals:
            return Condition(condition_type, "number_equals", token_value(value_token), name, pos)
        if is_number_not_equals:
            return Condition(condition_type, "number_not_equals", token_value(value_token), name, pos)
        return Condition(condition_type, op, token_value(value_token), name, pos)

    def _path_name(self, text: str, root: str, pos: int) -> str:
        """``value.replace(/^(root)\\./, '')`` plus warnings about odd paths."""
        prefix = root + "."
        if text.startswith(prefix):
            name = text[len(prefix):]
        else:
            name = text
            self.warn(pos, f"`{text}` has no `{root}.` prefix, so it reads `{root}.{text}`")
        segments = _PATH_SEGMENT.findall(name)
        if name and not segments:
            raise ParseFailure(
                f"the path `{name}` has no segment (Segment accepts it but throws "
                "\"Cannot read properties of null (reading 'reduce')\" on every event that reaches it)",
                pos,
                None,
            )
        if not name:
            self.warn(pos, f"`{text}` names no path: the condition sees `undefined`")
        builtin = [s for s in segments if s in ALL_BUILTIN_NAMES]
        if builtin:
            self.warn(
                pos,
                f"`{text}`: {', '.join(builtin)} also name JavaScript built-ins (a string's or array's "
                "`length`, inherited methods), which Segment reads when the event has no such key",
            )
        if any(c in name for c in "[]"):
            self.warn(pos, f"`{text}`: `[` and `]` separate path segments like `.`")
        return name

    def _check_operands(self, condition_type: str, field_token: Token, op_token: Token, value_token: Token) -> None:
        field_text, op = field_token.value, op_token.value
        if op not in _COMPARISONS:
            if op in KNOWN_OPERATORS:
                self.warn(op_token.pos, f"`{field_text} {op} ...` uses Segment's internal operator `{op}`")
            else:
                self.warn(
                    op_token.pos,
                    f"`{field_text}` is followed by {_show(op_token)}, not a comparison operator: "
                    "the condition never matches",
                )
        if value_token.type not in (STRING, NUMBER, NULL, IDENT):
            self.warn(
                value_token.pos,
                f"the value of `{field_text} {op}` is {_show(value_token)}, which is compared as the text "
                f"`{value_token.value}`",
            )
        if value_token.type == STRING and value_token.value.startswith("'"):
            self.warn(
                value_token.pos,
                f"single-quoted {value_token.value} keeps its quotes: it only matches the text "
                f"{value_token.value} including the ' characters (use double quotes)",
            )
        top = condition_type in TOP_LEVEL_FIELDS
        if top and "." in field_text:
            self.warn(
                field_token.pos,
                f"`{field_text}` reads `{TOP_LEVEL_FIELDS[condition_type]}`: "
                "the part after the dot is ignored",
            )
        raw = value_token.value
        if top and value_token.type == NULL and not (condition_type in ("name", "userId") and op in ("=", "!=")):
            self.warn(value_token.pos, f"`{field_text} {op} null` compares with the text \"null\", not with null")
        if top and value_token.type == IDENT and raw in ("true", "false") and not (
            condition_type == "userId" and op == "="
        ):
            self.warn(value_token.pos, f"`{field_text} {op} {raw}` compares with the text \"{raw}\"")
        if not top and op == "!=" and value_token.type == IDENT and raw in ("true", "false"):
            self.warn(
                value_token.pos,
                f"`{field_text} != {raw}` is true unless the value is the TEXT \"{raw}\" "
                f"(a boolean {raw} still matches)",
            )
        if top and value_token.type == NUMBER and op in ("=", "!="):
            self.warn(
                value_token.pos,
                f"`{field_text} {op} {raw}` compares with the text \"{to_string(token_value(value_token))}\": "
                "a numeric value in the event never equals it",
            )
        if value_token.type == NUMBER and string_to_number(raw) != string_to_number(raw):
            self.warn(value_token.pos, f"`{raw}` is not a number (NaN): the comparison never matches")
        if top and op in ("<", "<=", ">", ">="):
            self.warn(op_token.pos, f"`{field_text} {op}` only matches when {field_text} is a number in the event")

    # -- contains() / match() -------------------------------------------------------------------
    def _function(self, fn_token: Token, name: str, nodes: list[Node | None], tokens: deque[Token], *, negate: bool) -> None:
        pop = tokens.popleft
        open_token = pop() if tokens else None
        name_token = pop() if tokens else None
        if name_token is None:
            raise ParseFailure(f"{name}() is missing a 1st argument", fn_token.pos, f"{name}() is missing a 1st argument")
        pop() if tokens else None
        value_token = pop() if tokens else None
        if value_token is None:
            raise ParseFailure(f"{name}() is missing a 2nd argument", fn_token.pos, f"{name}() is missing a 2nd argument")
        close_token = pop() if tokens else None
        if open_token is None or open_token.type != PARENLEFT or close_token is None or close_token.type != PARENRIGHT:
            self.warn(fn_token.pos, f"{name}( ... ) is not written as {name}(field, \"value\"): tokens are taken by position")
        if name == "contains":
            operator = "not_contains" if negate else "contains"
            value = to_string(token_value(value_token))
        else:
            raw = value_token.value
            text = to_string(token_value(value_token))
            if raw.endswith('*"'):
                operator = "not_starts_with" if negate else "starts_with"
                value = text[:-1]
                shown = f"starts with \"{value}\""
            else:
                operator = "not_ends_with" if negate else "ends_with"
                value = text[1:]
                shown = f"ends with \"{value}\""
            if not (raw.startswith('"*') and not raw.endswith('*"')) and not (
                raw.endswith('*"') and not raw.startswith('"*')
            ):
                self.warn(
                    value_token.pos,
                    f"match(..., {raw}) is read as: {'does not ' if negate else ''}{shown} "
                    "(only one leading `*` or one trailing `*` in a double-quoted string is understood; "
                    "without a trailing `*` the first character is dropped)",
                )
            elif "*" in value:
                self.warn(value_token.pos, f"match(..., {raw}): `*` in the middle is a literal star")
        field_text = name_token.value
        before = len(nodes)
        if field_text in ("event", "name", "userId"):
            nodes.append(Condition(field_text, operator, value, pos=fn_token.pos))
        for condition_type, root in PATH_TYPES.items():
            if field_text.startswith(root):
                path = self._path_name(field_text, root, name_token.pos)
                nodes.append(Condition(condition_type, operator, value, path, fn_token.pos))
        if len(nodes) == before:
            self.warn(
                fn_token.pos,
                f"{name}({field_text}, ...) is silently ignored: its first argument must be event, name, "
                "userId, properties.*, traits.* or context.*",
            )

    # -- what Segment accepts but cannot evaluate -------------------------------------------------
    def _check_runtime(self, node: Node) -> None:
        if isinstance(node, Group):
            for child in node.children:
                if child is None:
                    raise ParseFailure(
                        "empty parentheses `()` next to other conditions (Segment accepts this trigger "
                        f"but throws \"{UNDEFINED_READ}\" on every event that reaches them)",
                        node.pos,
                        None,
                    )
                self._check_runtime(child)
