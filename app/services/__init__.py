"""Domain logic the engine's operators and the web layer call. Services flush, never commit."""
