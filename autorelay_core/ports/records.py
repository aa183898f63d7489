"""The project's own records (projects, keys, domains, templates, assets, users, pacing) and
the per-request policy stores (rate limits, idempotency), with the domain and blob services."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Protocol

from attrs import frozen

from autorelay_core.domain.assets import Asset
from autorelay_core.domain.domains import Domain
from autorelay_core.domain.keys import ApiKey
from autorelay_core.domain.pacing import PaceRule, Warmup
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.domain.templates import Template, TemplateVersion
from autorelay_core.domain.users import Membership, Role, Session, User
from autorelay_core.policies.idempotency import Existing, StoredResponse
from autorelay_core.policies.pagination import CursorPage, CursorRequest
from autorelay_core.policies.rate_limit import Admission, Limit


class ProjectRepository(Protocol):
    async def add(self, project: Project) -> None:
        """Store a new project. Conflict if the name is taken."""

    async def get(self, project_id: str) -> Project | None: ...

    async def get_by_name(self, name: str) -> Project | None: ...

    async def list(self) -> list[Project]:
        """Every project, oldest first."""

    async def set_status(self, project_id: str, status: AccountStatus, reason: str) -> None: ...

    async def set_tracking(self, project_id: str, *, opens: bool, clicks: bool) -> None:
        """Whether the project's mail gets an open pixel and tracked links."""

    async def set_uncertain_policy(self, project_id: str, *, transactional: bool, campaigns: bool) -> None:
        """Whether uncertain emails (see EmailStatus.UNCERTAIN) are sent again, per kind of mail."""

    async def set_webhooks_local(self, project_id: str, allowed: bool) -> None:
        """Whether the project's webhooks may reach local addresses (Project.webhooks_local)."""

    async def rename(self, project_id: str, name: str) -> None:
        """Conflict if another project has that name."""


class KeyRepository(Protocol):
    async def add(self, key: ApiKey) -> None: ...

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key whose SHA-256 is `key_hash`, revoked or not (the caller checks)."""

    async def list(self, project_id: str) -> list[ApiKey]:
        """The project's keys, oldest first, revoked ones included."""

    async def revoke(self, key_id: str, at: datetime) -> bool:
        """Mark the key revoked; False if no such key. Revoking twice keeps the first time."""

    async def touch(self, key_id: str, at: datetime) -> None:
        """Record when the key was last used."""


class DomainRepository(Protocol):
    async def get_by_name(self, project_id: str, name: str) -> Domain | None: ...

    async def named(self, name: str) -> list[Domain]:
        """Every project's domain of that name (a DMARC report mailed to the bounce domain)."""

    async def add(self, domain: Domain) -> None:
        """Conflict if the project already has the domain."""

    async def update(self, domain: Domain) -> None:
        """Store the domain's status and verified_at."""

    async def count(self, project_id: str) -> int: ...

    async def get(self, project_id: str, domain_id: str) -> Domain | None: ...

    async def all(self, project_id: str) -> list[Domain]:
        """Oldest first."""

    async def delete(self, project_id: str, domain_id: str) -> bool: ...


class LimitOverrides(Protocol):
    async def get(self, project_id: str) -> dict[str, Limit]:
        """The operator's per-endpoint limits for the project ("METHOD /path" -> Limit)."""

    async def set(self, project_id: str, endpoint: str, limit: Limit) -> None: ...

    async def clear(self, project_id: str, endpoint: str) -> bool: ...


class RateLimitStore(Protocol):
    async def hit(self, bucket: str, now: float, limit: Limit) -> Admission:
        """Apply `policies.rate_limit.admit` to the bucket atomically: between processes too, for
        the shared stores (SQL, Redis). Entries older than the window may be forgotten."""

    async def forget(self, bucket: str) -> None:
        """Drop the bucket's log (a success that clears earlier failures)."""

    async def close(self) -> None:
        """Let go of a connection of its own (Redis); a store on the storage's connection has none."""


class IdempotencyStore(Protocol):
    async def claim(self, project_id: str, key: str, fingerprint: str, now: datetime) -> Existing | None:
        """Atomically take the key for a new request (None), unless a live record holds it: then
        return that record. A record is dead once `RETENTION` has passed, or, while still in
        flight, once `IN_FLIGHT_LEASE` has (its process died). Racing claims: exactly one wins."""

    async def complete(self, project_id: str, key: str, response: StoredResponse) -> None:
        """Remember the answer of the request that holds the key."""

    async def release(self, project_id: str, key: str) -> None:
        """Forget the claim (the answer is not one to replay), so the client may retry."""


class TemplateRepository(Protocol):
    """Every add and update also keeps the content as a new version (1, 2, ...) in the same
    transaction; only the newest KEPT_VERSIONS are kept. Delete drops the versions too."""

    async def add(self, template: Template) -> None: ...

    async def get(self, project_id: str, template_id: str) -> Template | None: ...

    async def list(self, project_id: str) -> list[Template]:
        """The project's templates, oldest first."""

    async def update(self, template: Template) -> None: ...

    async def delete(self, project_id: str, template_id: str) -> bool: ...

    async def versions(self, project_id: str, template_id: str) -> builtins.list[TemplateVersion]:
        """The kept versions, newest first; [] for another project's template."""


class AssetRepository(Protocol):
    async def add(self, asset: Asset) -> None: ...

    async def get(self, project_id: str, asset_id: str) -> Asset | None: ...

    async def find(self, asset_id: str) -> Asset | None:
        """The asset in whichever project (serving a public URL, which names only the asset)."""

    async def page(self, project_id: str, category: str | None, cursor: CursorRequest) -> CursorPage[Asset]:
        """Newest first (ignoring `cursor.order`), strictly after the asset `cursor.after`; an
        unknown `after` yields an empty page. Uploads during a walk cause no duplicate or gap among
        the assets that existed when it began. `total` counts every match."""


class UserRepository(Protocol):
    """Dashboard users, their project memberships and their sessions."""

    async def add(self, user: User) -> None:
        """Conflict if a user with that email (compared lower-cased) exists."""

    async def get(self, user_id: str) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None:
        """Compared lower-cased."""

    async def list(self) -> list[User]: ...

    async def new_link(self, user_id: str) -> int | None:
        """Move the user's link version on, atomically, and return the new one (which a new
        sign-in link names, voiding every older link); None for no such user."""

    async def redeem_link(self, user_id: str, version: int, password_hash: str, email: str | None = None) -> bool:
        """Atomically, and only while the user's link version is still `version`: set the password
        hash (and the email, when given), move the version on and end every session of the user.
        Of racing redemptions of one link exactly one is True. Conflict when `email` is another
        user's (compared lower-cased)."""

    async def delete(self, user_id: str) -> bool:
        """The user, their memberships and their sessions."""

    async def set_role(self, membership: Membership) -> None:
        """Add or change the user's role in the project."""

    async def memberships(self, user_id: str) -> builtins.list[Membership]:
        """Ordered by project id (a session starts in the first)."""

    async def members(self, project_id: str) -> builtins.list[tuple[User, Role]]: ...

    async def remove_member(self, user_id: str, project_id: str) -> bool: ...

    async def add_session(self, session: Session) -> None: ...

    async def session(self, session_id: str) -> Session | None: ...

    async def touch_session(self, session_id: str, at: datetime, project_id: str | None = None) -> None:
        """Record the session's latest request (and, when given, the project it now shows)."""

    async def end_session(self, session_id: str) -> None: ...

    async def end_sessions(self, user_id: str) -> None:
        """Every session of the user (password change, removal)."""


class PacingSettings(Protocol):
    """The install's pace rules and warm-up schedules (operator settings, not a project's)."""

    async def rules(self) -> list[PaceRule]:
        """By name."""

    async def set_rule(self, rule: PaceRule) -> None:
        """Add, or replace the rule of the same name."""

    async def drop_rule(self, name: str) -> bool: ...

    async def warmups(self) -> list[Warmup]:
        """By domain."""

    async def set_warmup(self, warmup: Warmup) -> None:
        """Add, or replace the schedule of the same domain."""

    async def drop_warmup(self, domain: str) -> bool: ...


@frozen
class DkimSetup:
    """How a new sending domain signs: our own key (selector, public key as base64 DER, private key
    sealed), or the mailer's tokens (SES)."""

    selector: str = ""
    public_key: str = ""
    private_key: str = ""
    tokens: tuple[str, ...] = ()


class DomainProvisioner(Protocol):
    async def provision(self, name: str) -> DkimSetup:
        """Set the domain up with the mailer (SES: an email identity) and say how it signs."""


class DnsResolver(Protocol):
    async def txt(self, name: str) -> list[str]:
        """The TXT values at `name` (each record's strings joined); [] when there are none."""

    async def cname(self, name: str) -> list[str]:
        """The CNAME targets at `name`, lower case without the trailing dot; [] when none."""

    async def addresses(self, name: str) -> list[str]:
        """The host's IPv4 and IPv6 addresses (A and AAAA, following CNAMEs); [] when none."""


class BlobStore(Protocol):
    """Where uploaded files live, each under a key, reachable at a permanent public URL."""

    async def put(self, key: str, data: bytes, content_type: str, *, inline: bool, filename: str) -> None:
        """Store the bytes; whoever serves them later serves `content_type`, nosniff, and (unless
        `inline`) `Content-Disposition: attachment` with `filename`. Writing a key again replaces it."""

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None:
        """Remove the key's bytes; a key that is not there is no error."""

    def url(self, key: str) -> str:
        """The public URL of the key (it does not check that the key exists)."""


class ContentDetector(Protocol):
    def detect(self, head: bytes) -> str | None:
        """The MIME type the bytes' signature shows (the first few KiB are enough); None when
        they match no known binary format (text, HTML, SVG, ...)."""
