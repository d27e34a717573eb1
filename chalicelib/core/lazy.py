"""Modules loaded on first attribute access, so a cold start pays only for the flow it serves.

Route modules bind their flow's service modules with `lazy_module`: registering every route
costs nothing, and the first request of a flow loads that flow alone.

The stand-in returned is not the module itself: its first attribute access runs an ordinary
`importlib.import_module`, whose per-module import lock makes concurrent first requests wait for
one complete load. (importlib's LazyLoader, used before, is not thread-safe on Python 3.11: a
second thread could see the module half-initialised and fail with AttributeError.)
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    """Forwards every attribute to the real module, importing it on first use."""

    def _load(self) -> ModuleType:
        return importlib.import_module(self.__name__)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        # Patching a flow (tests, failpoints) must patch the real module the flow itself uses.
        setattr(self._load(), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(self._load(), attr)


def lazy_module(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    return _LazyModule(name)


def load(module: ModuleType) -> ModuleType:
    """The real module behind `module` (loading it now), e.g. to run its registrations."""
    return module._load() if isinstance(module, _LazyModule) else module
