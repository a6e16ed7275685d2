"""roadchief — 青铜峡市农村公路“路长制”管理系统."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"

if TYPE_CHECKING:
    from roadchief.app import create_app


def __getattr__(name: str):
    # `from roadchief import create_app` and gunicorn's `roadchief:create_app()` keep working, but
    # only they pay for importing the web stack (issue #15: `roadchief --help` < 1 s).
    if name == "create_app":
        from roadchief.app import create_app

        return create_app
    raise AttributeError(f"module 'roadchief' has no attribute {name!r}")


__all__ = ["MIGRATIONS_DIR", "PACKAGE_DIR", "create_app"]
