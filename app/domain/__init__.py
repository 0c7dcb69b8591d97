"""Pure domain logic: no Flask imports, unit-tested without an app."""
