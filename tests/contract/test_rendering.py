"""The template engine port: escaping, strictness and the sandbox."""

from __future__ import annotations

import pytest

from adapters.rendering.jinja import JinjaTemplates
from adapters.rendering.text import InscriptisText
from autorelay_core.errors import Invalid


@pytest.fixture
def engine():
    return JinjaTemplates()


def test_values_are_html_escaped_unless_rendering_text(engine):
    assert engine.render("<p>{{ x }}</p>", {"x": "<script>"}, strict=True) == "<p>&lt;script&gt;</p>"
    assert engine.render("{{ x }}", {"x": "<b>"}, strict=True, html=False) == "<b>"


def test_strict_names_missing_variables_and_lenient_renders_empty(engine):
    with pytest.raises(Invalid, match="b, c"):
        engine.render("{{ a }}{{ b }}{{ c }}", {"a": 1}, strict=True)
    assert engine.render("[{{ a }}]", {}, strict=False) == "[]"


@pytest.mark.parametrize(
    "source",
    [
        "{{ x.__class__.__mro__ }}",
        "{{ x['__class__'] }}",
        "{{ x.upper() }}",
        "{{ 'a' * 100000000 }}",
        "{% for i in range(100000000) %}{% endfor %}",
        "{{ x|center(100000000) }}",
        "{{ lipsum() }}",
    ],
)
def test_sandbox_refuses_code(engine, source):
    with pytest.raises(Invalid):
        engine.render(source, {"x": "v"}, strict=True)
    with pytest.raises(Invalid):
        engine.render(source, {"x": "v"}, strict=False) or (_ for _ in ()).throw(Invalid("empty"))


def test_syntax_errors_name_the_line(engine):
    with pytest.raises(Invalid, match="line 2"):
        engine.variables("ok\n{{ broken")


def test_text_keeps_links_and_lists():
    text = InscriptisText().convert('<p>Click <a href="https://x.test/r">here</a></p><ul><li>one</li></ul>')
    assert "https://x.test/r" in text and "one" in text and "<" not in text


def test_the_budget_reaches_every_compiled_template_and_every_variables_answer(engine):
    """The guard that carries the limits rewrites each template's tree: a loop over data past the
    loop budget and a macro are refused on render and when the template's variables are read."""
    with pytest.raises(Invalid, match="cannot be rendered"):
        engine.render("{% for i in items %}{{ i }}{% endfor %}", {"items": list(range(200_000))}, strict=False)
    assert engine.render("{% for i in items %}{{ i }}{% endfor %}", {"items": [1, 2]}, strict=False) == "12"
    with pytest.raises(Invalid):
        engine.variables("{% macro m() %}x{% endmacro %}{{ m() }}")
