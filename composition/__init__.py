"""The composition root: settings, wiring (`build`) and the `autorelay` command."""

from composition.build import build
from composition.services import Services
from composition.settings import Settings

__all__ = ["Services", "Settings", "build"]
