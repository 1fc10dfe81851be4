"""A plugin as a third party would ship it: one module, one entry point, no hub code changed."""

from __future__ import annotations

from adapters import AdapterSpec, demo
from config import IntegrationType

SPEC = AdapterSpec(
    name="example-plugin",
    title="Example plugin",
    description="Installed from its own package; found through the entry point.",
    icon="🔌",
    kind=IntegrationType.REST,
    factory=demo.DemoAdapter,
    settings_schema=demo.SPEC.settings_schema,
    entities=demo.SPEC.entities,
)
