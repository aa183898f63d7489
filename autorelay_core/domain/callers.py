"""Who acts: the one identity every use case is given.

An API key, a signed-in dashboard user, the SMTP relay for a key, an operator at the CLI, the
server itself, or an application embedding the core: each is a way of obtaining a `Caller` at the
edge. What a caller may do (scope, role, account status, rate limit) is then decided in one place,
`usecases/access.admit`, from this value alone.
"""

from __future__ import annotations

from enum import StrEnum

from attrs import frozen

from autorelay_core.domain.keys import FULL, SCOPES, ApiKey, KeyMode
from autorelay_core.domain.users import Role

# Held by a project's owners (and by the operator, the system and an embedding application), never
# by an API key: managing keys, members, webhooks and settings from the dashboard.
MANAGE = "project.manage"


class Via(StrEnum):
    API_KEY = "api_key"
    DASHBOARD = "dashboard"
    RELAY = "relay"  # the SMTP relay, authenticated with an API key
    CLI = "cli"
    SYSTEM = "system"  # the server's own work: the campaign pass, OTP confirmations
    EMBEDDED = "embedded"  # an application that embeds the core (autorelay_core.embed)


# Whose requests count against per-caller rate limits: the doors strangers and tenants use. The
# operator, the server and an embedding application are trusted with their own pace.
_LIMITED = frozenset({Via.API_KEY, Via.DASHBOARD, Via.RELAY})


@frozen
class Caller:
    via: Via
    # Whom per-caller rate limits count: the key's id, "user:<id>", or the door's own name.
    id: str
    project_id: str
    mode: KeyMode = KeyMode.LIVE
    scopes: tuple[str, ...] = (FULL, MANAGE)
    # For messages: "This API key", "Your role", ...
    name: str = ""

    @property
    def is_test(self) -> bool:
        return self.mode is KeyMode.TEST

    @property
    def rate_limited(self) -> bool:
        return self.via in _LIMITED

    def allows(self, scope: str) -> bool:
        if scope == MANAGE:
            return MANAGE in self.scopes
        return FULL in self.scopes or scope in self.scopes

    def lacks(self, scope: str) -> str:
        """Why `allows(scope)` is False, in the words the caller's door uses."""
        if self.via is Via.DASHBOARD:
            return "Only an owner of this project can do this. Ask an owner to do it, or to make you an owner."
        if self.via in (Via.API_KEY, Via.RELAY):
            return f"This API key lacks the '{scope}' scope"
        return f"This caller lacks the '{scope}' scope"

    def in_mode(self, mode: KeyMode) -> Caller:
        """The same caller acting in another mode (a dashboard page's test send)."""
        return Caller(self.via, self.id, self.project_id, mode, self.scopes, self.name)

    @classmethod
    def for_key(cls, key: ApiKey, *, via: Via = Via.API_KEY) -> Caller:
        return cls(via, key.id, key.project_id, key.mode, tuple(s for s in key.scopes if s != MANAGE), key.name)

    @classmethod
    def for_user(cls, user_id: str, project_id: str, role: Role, mode: KeyMode = KeyMode.LIVE) -> Caller:
        # A member uses everything an API key can; an owner also manages the project.
        scopes = (FULL, MANAGE) if role is Role.OWNER else (*SCOPES,)
        return cls(Via.DASHBOARD, f"user:{user_id}", project_id, mode, scopes, "dashboard")

    @classmethod
    def operator(cls, project_id: str, mode: KeyMode = KeyMode.LIVE) -> Caller:
        return cls(Via.CLI, "operator", project_id, mode, name="operator")

    @classmethod
    def system(cls, project_id: str, mode: KeyMode = KeyMode.LIVE) -> Caller:
        return cls(Via.SYSTEM, "system", project_id, mode, name="system")

    @classmethod
    def embedded(cls, project_id: str, mode: KeyMode = KeyMode.LIVE) -> Caller:
        return cls(Via.EMBEDDED, "embedded", project_id, mode, name="application")
