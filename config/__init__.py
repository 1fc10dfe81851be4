"""Configuration models: the hub's settings and, later, integration configs."""

from config._settings import Settings

__all__ = ["Settings"]
