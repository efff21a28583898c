"""Where the project lives. Paths come from the package or ``GOVLIB_ROOT``, never from the working directory."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "package_data"]

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The project root: ``$GOVLIB_ROOT`` if set, else the checkout that holds this package.

    Notebooks run in ``notebooks/`` and papermill workers run anywhere: they all find the same root.
    """
    env = os.environ.get("GOVLIB_ROOT")
    if env:
        return Path(env).resolve()
    checkout = PACKAGE_DIR.parent
    if (checkout / "govlib.yaml").exists() or (checkout / "pyproject.toml").exists():
        return checkout
    return Path.cwd().resolve()  # installed as a plain package: the user's project is where they run it


def package_data(*parts: str) -> Path:
    """A file shipped inside the package (default framework, templates, reference tables)."""
    return PACKAGE_DIR.joinpath("data", *parts)
