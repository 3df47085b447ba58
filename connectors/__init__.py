"""First-party connectors, installed as ``listener.connectors`` and registered by entry point."""
