"""Alerts: the outbox worker and one module per kind of sink. Rendering escapes hostile text."""
