"""Projects and API keys: creation, listing, revocation, and authenticating a presented key."""

from __future__ import annotations

from datetime import timedelta

from attrs import frozen

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.keys import ApiKey, KeyMode, check_scopes, hash_key, looks_like_key, new_plain_key
from autorelay_core.domain.projects import Project
from autorelay_core.errors import Conflict, Invalid, NotFound, Unauthenticated, Unavailable
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found


@frozen
class IssuedKey:
    key: ApiKey
    plain: str  # shown once to the operator, never stored


async def create_project(deps: Deps, name: str) -> Project:
    name = name.strip()
    if not name:
        raise Invalid("a project needs a name", field="name")
    if await deps.storage.projects.get_by_name(name) is not None:
        raise Conflict(f"a project named {name!r} already exists")
    project = Project(id=deps.ids.new("prj"), name=name, created_at=deps.clock.now())
    await deps.storage.projects.add(project)
    return project


async def rename_project(deps: Deps, caller: Caller, name: str) -> None:
    project_id = caller.project_id
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid("a project's name has 1 to 100 characters", field="name")
    await deps.storage.projects.rename(project_id, name)


async def set_tracking(deps: Deps, caller: Caller, *, opens: bool, clicks: bool) -> None:
    """Whether the project's mail counts opens (a pixel) and clicks (signed redirects)."""
    project_id = caller.project_id
    await deps.storage.projects.set_tracking(project_id, opens=opens, clicks=clicks)


async def find_project(deps: Deps, ref: str) -> Project:
    """A project by id or by name."""
    project = found(
        await deps.storage.projects.get(ref) or await deps.storage.projects.get_by_name(ref), f"project {ref}"
    )
    return project


async def create_key(
    deps: Deps, caller: Caller, mode: KeyMode, name: str = "", scopes: tuple[str, ...] = ()
) -> IssuedKey:
    project_id = caller.project_id
    if await deps.storage.projects.get(project_id) is None:
        raise NotFound(f"project {project_id} not found")
    plain = new_plain_key(mode)
    key = ApiKey(
        id=deps.ids.new("key"),
        project_id=project_id,
        name=name,
        mode=mode,
        key_hash=hash_key(plain),
        last4=plain[-4:],
        scopes=check_scopes(scopes),
        created_at=deps.clock.now(),
    )
    await deps.storage.keys.add(key)
    return IssuedKey(key=key, plain=plain)


async def revoke_key(deps: Deps, key_id: str) -> None:
    if not await deps.storage.keys.revoke(key_id, deps.clock.now()):
        raise NotFound(f"key {key_id} not found")


async def bootstrap(deps: Deps) -> list[IssuedKey]:
    """On an empty database: a project `default` with one live and one test key. Else nothing."""
    if await deps.storage.projects.list():
        return []
    try:
        project = await create_project(deps, "default")
    except Conflict:  # another process starting on the same database got there first
        return []
    return [
        await create_key(deps, Caller.system(project.id), KeyMode.LIVE, "default live"),
        await create_key(deps, Caller.system(project.id), KeyMode.TEST, "default test"),
    ]


async def authenticate(deps: Deps, presented: str | None) -> ApiKey:
    """The active key for a `Bearer` token, or Unauthenticated. The message never echoes the key."""
    if not presented:
        raise Unauthenticated("Missing API key: send 'Authorization: Bearer ak_live_...'")
    if not looks_like_key(presented):
        raise Unauthenticated("Malformed API key: expected ak_live_<64 hex> or ak_test_<64 hex>")
    key = await deps.storage.keys.get_by_hash(hash_key(presented))
    if key is None:
        raise Unauthenticated("Invalid API key")
    if key.revoked_at is not None:
        raise Unauthenticated("This API key has been revoked")
    now = deps.clock.now()
    if key.last_used_at is None or now - key.last_used_at >= USED_EVERY:
        previous, key.last_used_at = key.last_used_at, now  # the cached copy too: one write a minute
        try:
            await deps.storage.keys.touch(key.id, now)
        except Unavailable:
            # Bookkeeping never refuses a request: the request's own writes answer for the
            # database, and a later request notes the use.
            key.last_used_at = previous
    return key


USED_EVERY = timedelta(minutes=1)


async def project_key(deps: Deps, caller: Caller, key_id: str) -> ApiKey:
    """One of the project's keys (NotFound for another project's: never leak that it exists)."""
    project_id = caller.project_id
    key = next((k for k in await deps.storage.keys.list(project_id) if k.id == key_id), None)
    if key is None:
        raise NotFound(f"key {key_id} not found")
    return key


async def list_keys(deps: Deps, caller: Caller) -> list[ApiKey]:
    project_id = caller.project_id
    return await deps.storage.keys.list(project_id)


async def list_projects(deps: Deps) -> list[Project]:
    return await deps.storage.projects.list()


async def get_project(deps: Deps, caller: Caller) -> Project:
    project_id = caller.project_id
    return found(await deps.storage.projects.get(project_id), f"project {project_id}")
