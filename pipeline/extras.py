"""Optional features and the extra that installs each.

Extraction needs only the core dependencies (``pip install bulletin-pipeline``, what
``make run`` installs). Dask, DuckDB and the notebook stack are extras, declared in
``pyproject.toml``: ``[dask]``, ``[sql]``, ``[notebook]`` and ``[all]``. A feature
that needs one imports it through :func:`require`, which names the extra when the
module is missing instead of failing with a bare ``ModuleNotFoundError``.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from .model import PipelineError


class MissingExtra(PipelineError, ImportError):
    """A feature needs a package of an extra that is not installed (the message says which)."""


def install_hint(extra: str) -> str:
    return f"pip install 'bulletin-pipeline[{extra}]' (in a clone of the repository: pip install -e '.[{extra}]')"


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``; when it is missing, raise :class:`MissingExtra`
    naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != module.split(".")[0]:
            raise  # the package is there but something it imports is broken: show that
        raise MissingExtra(f"{feature} needs the {module!r} package, which is not installed: {install_hint(extra)}") from exc
