"""Adapters that make `reviewer` the human end of an agent framework's approval hook. Each is
imported only when used, with its framework as an optional extra (docs/integrations.md)."""
