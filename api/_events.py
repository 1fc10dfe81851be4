"""(placeholder: routes land with the API issue)"""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register this part's routes."""
