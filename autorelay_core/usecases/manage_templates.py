"""Template CRUD. The reference lists only GET; something has to create them (API-DECISIONS)."""

from __future__ import annotations

from attrs import evolve, frozen

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.headers import not_text_problem, one_line_problem
from autorelay_core.domain.templates import MAX_TEMPLATE_CHARS, Template, TemplateVersion
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found


@frozen
class TemplateInput:
    name: str | None = None
    subject: str | None = None
    html: str | None = None
    text: str | None = None


async def _check(deps: Deps, fields: TemplateInput, *, creating: bool) -> None:
    for name in ("name", "subject", "html"):
        value = getattr(fields, name)
        if creating and (value is None or not value.strip()):
            raise Invalid(f"{name} is required", field=name)
        if value is not None and not value.strip():
            raise Invalid(f"{name} must not be empty", field=name)
    problem = None if fields.subject is None else one_line_problem(fields.subject, tab=True)
    if problem is not None:
        raise Invalid(f"subject {problem}", field="subject")
    for name in ("html", "text"):
        source = getattr(fields, name)
        if source is not None and len(source) > MAX_TEMPLATE_CHARS:
            raise Invalid(f"{name} may be at most {MAX_TEMPLATE_CHARS:,} characters", field=name)
        problem = not_text_problem(source) if source is not None else None
        if problem is not None:
            raise Invalid(f"{name} {problem}", field=name)
    # Parse now so that a broken template is refused when saved, not when someone sends with it.
    for name in ("subject", "html", "text"):
        source = getattr(fields, name)
        if source is not None:
            await parsed(deps, source, name)


async def parsed(deps: Deps, source: str, field: str) -> set[str]:
    """The template's variables, parsed off the event loop; Invalid naming `field` if it is broken."""
    try:
        return await deps.offload.run(deps.templates.variables, source)
    except Invalid as error:
        raise Invalid(f"{field}: {error.message}", field=field) from None


async def create_template(deps: Deps, caller: Caller, fields: TemplateInput) -> Template:
    project_id = caller.project_id
    await _check(deps, fields, creating=True)
    now = deps.clock.now()
    template = Template(
        id=deps.ids.new("tpl"),
        project_id=project_id,
        name=fields.name or "",
        subject=fields.subject or "",
        html=fields.html or "",
        text=fields.text,
        created_at=now,
        updated_at=now,
    )
    await deps.storage.templates.add(template)
    return template


async def get_template(deps: Deps, caller: Caller, template_id: str) -> Template:
    project_id = caller.project_id
    return found(await deps.storage.templates.get(project_id, template_id), f"template {template_id}")


async def update_template(deps: Deps, caller: Caller, template_id: str, fields: TemplateInput) -> Template:
    template = await get_template(deps, caller, template_id)
    await _check(deps, fields, creating=False)
    changes = {
        name: getattr(fields, name) for name in ("name", "subject", "html", "text") if getattr(fields, name) is not None
    }
    updated = evolve(template, **changes, updated_at=deps.clock.now())
    await deps.storage.templates.update(updated)
    return updated


async def delete_template(deps: Deps, caller: Caller, template_id: str) -> None:
    project_id = caller.project_id
    if not await deps.storage.templates.delete(project_id, template_id):
        raise NotFound(f"template {template_id} not found")


async def template_variables(deps: Deps, template: Template) -> list[str]:
    names: set[str] = set()
    for field in ("subject", "html", "text"):
        source = getattr(template, field)
        if source:
            names |= await parsed(deps, source, field)
    return sorted(names)


async def versions(deps: Deps, caller: Caller, template_id: str) -> list[TemplateVersion]:
    project_id = caller.project_id
    await get_template(deps, caller, template_id)
    return await deps.storage.templates.versions(project_id, template_id)


async def restore_version(deps: Deps, caller: Caller, template_id: str, number: int) -> Template:
    """Make an earlier version current again; that is a save, so it is kept as a new version."""
    kept = {v.number: v for v in await versions(deps, caller, template_id)}
    if number not in kept:
        raise NotFound(f"template {template_id} has no version {number}")
    old = kept[number]
    return await update_template(
        deps,
        caller,
        template_id,
        TemplateInput(name=old.name, subject=old.subject, html=old.html, text=old.text or ""),
    )


async def duplicate_template(deps: Deps, caller: Caller, template_id: str) -> Template:
    original = await get_template(deps, caller, template_id)
    name = f"{original.name} (copy)"[:200]
    return await create_template(
        deps, caller, TemplateInput(name=name, subject=original.subject, html=original.html, text=original.text)
    )


async def list_templates(deps: Deps, caller: Caller) -> list[Template]:
    project_id = caller.project_id
    return await deps.storage.templates.list(project_id)
