"""The adapter contract, error taxonomy, templates and concrete adapters."""
