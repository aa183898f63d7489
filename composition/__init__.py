"""The composition root: settings, wiring (`build`), the `autorelay` command, and `AutoRelay`, the
facade for applications that embed the core (docs/EMBEDDING.md)."""

from composition.build import build
from composition.embedding import AutoRelay
from composition.services import Services
from composition.settings import Settings

__all__ = ["AutoRelay", "Services", "Settings", "build"]
