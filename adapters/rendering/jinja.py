"""Template rendering with Jinja2's sandbox: `{{ name }}` variables, HTML-escaped, nothing else.

The sandbox already blocks unsafe attributes; we go further and block every attribute and item
lookup, so a template can only print the flat values it was given.
"""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, meta
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from autorelay_core.errors import Invalid


class _NoAttributes(ImmutableSandboxedEnvironment):
    # `'x' * 10**9` would exhaust memory; templates have no business multiplying.
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError(f"the {operator} operator is not allowed in templates")

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def getitem(self, obj: Any, argument: Any) -> Any:
        raise SecurityError("item access is not allowed in templates")


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
    "striptags",
    "truncate",
    "urlencode",
    "replace",
    "length",
    "round",
    "int",
    "float",
    "string",
)


def _env(*, autoescape: bool, strict: bool) -> _NoAttributes:
    env = _NoAttributes(autoescape=autoescape, undefined=StrictUndefined if strict else Undefined)
    env.globals.clear()  # no range(), cycler, joiner...: only the caller's data is in scope
    # Filters like center(10**9) or indent(10**9) could exhaust memory; keep the harmless ones.
    env.filters = {name: env.filters[name] for name in _SAFE_FILTERS}
    return env


class JinjaTemplates:
    def __init__(self) -> None:
        self._envs = {(a, s): _env(autoescape=a, strict=s) for a in (True, False) for s in (True, False)}
        self._parser = self._envs[(True, True)]

    def variables(self, source: str) -> set[str]:
        try:
            return set(meta.find_undeclared_variables(self._parser.parse(source)))
        except TemplateSyntaxError as error:
            raise Invalid(f"template syntax error on line {error.lineno}: {error.message}") from None

    def render(self, source: str, data: dict[str, Any], *, strict: bool, html: bool = True) -> str:
        if strict:
            missing = sorted(self.variables(source) - data.keys())
            if missing:
                raise Invalid(f"missing template variable(s) in data: {', '.join(missing)}", field="data")
        env = self._envs[(html, strict)]
        try:
            return env.from_string(source).render(data)
        except TemplateSyntaxError as error:
            raise Invalid(f"template syntax error on line {error.lineno}: {error.message}") from None
        except (SecurityError, UndefinedError) as error:
            raise Invalid(f"template cannot be rendered: {error}") from None
        except Exception as error:
            raise Invalid(f"template cannot be rendered: {type(error).__name__}") from None
