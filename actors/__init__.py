"""The hub's own actors on top of the runtime (integration actors, registry, scheduler)."""
