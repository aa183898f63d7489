"""Template rendering with Jinja2's sandbox: `{{ name }}` variables, HTML-escaped, nothing else.

The sandbox already blocks unsafe attributes; we go further and block every attribute and item
lookup, so a template can only print the flat values it was given. Templates are tenant input, so
rendering is also bounded: macros, calls, includes and recursive loops are refused when a template
is parsed; loops, joins, `+` and the filters spend from a per-render budget of characters, loop
turns and time (RenderLimits), and a render past any of them stops with Invalid naming the limit.
Everything that can grow a string is checked before or right after it grows, so memory stays
within a small multiple of the output limit.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from attrs import frozen
from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, meta, nodes, pass_context, pass_environment
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from autorelay_core.errors import Invalid


@frozen
class RenderLimits:
    output_chars: int = 2 * 1024 * 1024  # of one rendered template (Gmail clips mail past 102 KB)
    loop_turns: int = 100_000  # every turn of every loop in one render
    seconds: float = 1.0  # wall time of one render
    # {{ }} and {% %} tags in one template. Compiling is the costly step, and Python's compile() holds the
    # GIL throughout: 500 tags take about 30 ms of it (2,000 took 73 ms, stalling every request).
    tags: int = 500


class TooCostly(SecurityError):
    """A render went past one of its limits."""


class _Budget(threading.local):
    """The limits of the render running on this thread (renders run on worker threads)."""

    limits: RenderLimits = RenderLimits()
    deadline: float = float("inf")
    spent: int = 0
    turns: int = 0

    def spend(self, chars: int) -> None:
        self.spent += chars
        if self.spent > self.limits.output_chars:
            raise TooCostly(f"its output passes the limit of {self.limits.output_chars:,} characters")
        self.check_time()

    def check_size(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > self.limits.output_chars:
            raise TooCostly(f"a value passes the limit of {self.limits.output_chars:,} characters")
        return value

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TooCostly(f"it takes longer than {self.limits.seconds:g} s")


_budget = _Budget()


@contextmanager
def _spending(limits: RenderLimits) -> Iterator[None]:
    saved = (_budget.limits, _budget.deadline, _budget.spent, _budget.turns)
    _budget.limits, _budget.deadline = limits, time.monotonic() + limits.seconds
    _budget.spent = _budget.turns = 0
    try:
        yield
    finally:
        _budget.limits, _budget.deadline, _budget.spent, _budget.turns = saved


_CONTAINERS = (list, tuple, dict, set, frozenset)


@pass_environment
def _finalize(environment: Any, value: Any) -> Any:
    """Every printed value, literal text included (see _Guard), is counted before it is written."""
    if isinstance(value, _CONTAINERS):
        raise TooCostly("only text and numbers can be printed, not a list or mapping")
    _budget.spend(len(value) if isinstance(value, str) else 32)
    return value


@pass_context
def _counted(context: Any, iterable: Any) -> Iterator[Any]:
    """A loop's iterable, turn by turn against the budget."""
    for item in iterable:
        _budget.turns += 1
        if _budget.turns > _budget.limits.loop_turns:
            raise TooCostly(f"its loops turn more than {_budget.limits.loop_turns:,} times")
        if _budget.turns % 64 == 0:
            _budget.check_time()
        yield item


@pass_context
def _concat(context: Any, items: list[Any]) -> str:
    """`a ~ b ~ c`, measured before it is joined."""
    if sum(len(item) if isinstance(item, str) else 32 for item in items) > _budget.limits.output_chars:
        raise TooCostly(f"a joined value passes the limit of {_budget.limits.output_chars:,} characters")
    return markup_join(items) if context.eval_ctx.autoescape else str_join(items)


class _Guard(NodeTransformer):
    """Refuses what templates do not need and routes what they do through the budget."""

    _REFUSED = (
        (nodes.Macro, "macros"),
        (nodes.CallBlock, "call blocks"),
        (nodes.Call, "function calls"),
        (nodes.Include, "includes"),
        (nodes.Import, "imports"),
        (nodes.FromImport, "imports"),
        (nodes.Extends, "extends"),
    )

    def generic_visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        for kind, what in self._REFUSED:
            if isinstance(node, kind):
                raise TemplateSyntaxError(f"{what} are not allowed in templates", node.lineno)
        return super().generic_visit(node, *args, **kwargs)

    def visit_For(self, node: nodes.For) -> nodes.Node:
        if node.recursive:
            raise TemplateSyntaxError("recursive loops are not allowed in templates", node.lineno)
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_counted", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = self.generic_visit(node)
        return nodes.Filter(nodes.List(node.nodes), "_concat", [], [], None, None, lineno=node.lineno)

    def visit_TemplateData(self, node: nodes.TemplateData) -> nodes.Node:
        # Literal text is printed as a safe constant so that it passes _finalize and is counted too:
        # 500 KB of text inside a loop is as costly as a variable.
        return nodes.MarkSafe(nodes.Const(node.data), lineno=node.lineno)


class _NoAttributes(ImmutableSandboxedEnvironment):
    # `'x' * 10**9` and `'%999999999s' % 1` would exhaust memory; `+` is measured (call_binop).
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                if len(left) + len(right) > _budget.limits.output_chars:
                    raise TooCostly(f"a joined value passes the limit of {_budget.limits.output_chars:,} characters")
            return left + right
        if operator == "%" and all(
            isinstance(side, int | float) and not isinstance(side, bool) for side in (left, right)
        ):
            return left % right
        raise SecurityError(f"the {operator} operator is not allowed in templates")

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def getitem(self, obj: Any, argument: Any) -> Any:
        raise SecurityError("item access is not allowed in templates")


# The filters a template may use; each result is measured (a chain of urlencode or replace could
# otherwise grow a value threefold per step). Left out: center and indent (a width of 10**9),
# striptags (quadratic on "<<<<..."), join, map and the like (they reach into objects).
_SAFE_FILTERS = (
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "default",
    "d",
    "escape",
    "e",
    "truncate",
    "urlencode",
    "replace",
    "length",
    "round",
    "int",
    "float",
    "string",
)


def _measured(function: Any, name: str) -> Any:
    @functools.wraps(function)  # keeps jinja_pass_arg, so Jinja passes the same arguments
    def measured(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in args if isinstance(a, str | int | float) or a is None or isinstance(a, _CONTAINERS)]
        if name == "string" and values and isinstance(values[0], _CONTAINERS):
            raise TooCostly("only text and numbers can be turned into text")
        if name == "replace":
            _check_replace(values, kwargs)
        return _budget.check_size(function(*args, **kwargs))

    return measured


def _check_replace(values: list[Any], kwargs: dict[str, Any]) -> None:
    text, old, new = [*values, kwargs.get("old"), kwargs.get("new")][:3]
    if not all(isinstance(v, str) for v in (text, old, new)):
        return
    count = len(text) + 1 if old == "" else text.count(old)
    if len(text) + count * (len(new) - len(old)) > _budget.limits.output_chars:
        raise TooCostly(f"replace would pass the limit of {_budget.limits.output_chars:,} characters")


def _guarded(env: _NoAttributes, source: str) -> nodes.Template:
    """The template's tree through the guard: refused constructs raise, loops, joins and text are
    routed through the budget. Every compiled template and every variables() answer comes from here."""
    tree: nodes.Template = _Guard().visit(env.parse(source))
    return tree


def _env(*, autoescape: bool, strict: bool) -> _NoAttributes:
    env = _NoAttributes(autoescape=autoescape, undefined=StrictUndefined if strict else Undefined, finalize=_finalize)
    env.globals.clear()  # no range(), cycler, joiner...: only the caller's data is in scope
    env.filters = {name: _measured(env.filters[name], name) for name in _SAFE_FILTERS}
    env.filters.update(_counted=_counted, _concat=_concat)
    return env


class JinjaTemplates:
    def __init__(self, limits: RenderLimits | None = None) -> None:
        self.limits = limits or RenderLimits()
        self._envs = {(a, s): _env(autoescape=a, strict=s) for a in (True, False) for s in (True, False)}
        self._parser = self._envs[(True, True)]
        # Compiling is the costly step of a render (milliseconds); a campaign renders one template
        # per recipient. A few entries: every entry may hold a large template's code.
        self._compiled = functools.lru_cache(maxsize=16)(self._compile)
        self._parsed = functools.lru_cache(maxsize=64)(self._variables)

    def _check_tags(self, source: str) -> None:
        tags = source.count("{{") + source.count("{%")
        if tags > self.limits.tags:
            raise Invalid(
                f"templates may hold at most {self.limits.tags:,} {{{{ }}}} and {{% %}} tags, this one {tags:,}"
            )

    def variables(self, source: str) -> set[str]:
        return set(self._parsed(source))  # a strict render asks on every send: parse once

    def _variables(self, source: str) -> frozenset[str]:
        self._check_tags(source)
        try:
            return frozenset(meta.find_undeclared_variables(_guarded(self._parser, source)))
        except TemplateSyntaxError as error:
            raise Invalid(syntax_error(source, error)) from None

    def _compile(self, html: bool, strict: bool, source: str) -> Any:
        # Jinja's public path for a template from a tree of our making: parse, rewrite, compile the
        # tree, build the template from the code (what from_string does, with the guard between).
        env = self._envs[(html, strict)]
        code = env.compile(_guarded(env, source))
        return env.template_class.from_code(env, code, env.make_globals(None), None)

    def render(self, source: str, data: dict[str, Any], *, strict: bool, html: bool = True) -> str:
        """Render within self.limits. CPU-bound: callers run it off the event loop (Offload)."""
        if strict:
            missing = sorted(self.variables(source) - data.keys())
            if missing:
                raise Invalid(f"missing template variable(s) in data: {', '.join(missing)}", field="data")
        else:
            self._check_tags(source)
        try:
            template = self._compiled(html, strict, source)
            with _spending(self.limits):
                return "".join(template.generate(data))
        except TemplateSyntaxError as error:
            raise Invalid(syntax_error(source, error)) from None
        except TooCostly as error:
            raise Invalid(f"template cannot be rendered: {error}") from None
        except (SecurityError, UndefinedError) as error:
            raise Invalid(f"template cannot be rendered: {error}") from None
        except (RecursionError, SyntaxError, MemoryError):  # SyntaxError: Python's own nesting limit
            raise Invalid("template cannot be rendered: it nests too deeply") from None
        except Exception as error:
            raise Invalid(f"template cannot be rendered: {type(error).__name__}") from None


_AT_OFFSET = re.compile(r"^(.*) at (\d+)$")


def syntax_error(source: str, error: TemplateSyntaxError) -> str:
    """Jinja's message, told where a person can find it: the words around the spot (a designed
    email is one long line, so a line number alone does not help)."""
    message = error.message or "broken template"
    found = _AT_OFFSET.match(message)
    if found is None:
        return f"template syntax error on line {error.lineno}: {message}"
    offset = int(found.group(2))
    near = " ".join(source[max(0, offset - 30) : offset + 10].split())
    told = f"template syntax error: {found.group(1)} near “{near}”"
    if "&nbsp;" in source[max(0, offset - 30) : offset + 10]:
        told += " (a non-breaking space from the editor sits inside {{ }}: type that space again)"
    elif "{{" in near and "}}" not in near:
        told += " (a {{ is not closed by }})"
    return told


__all__ = ["JinjaTemplates", "Markup", "RenderLimits"]
