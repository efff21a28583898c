"""govlib.services."""
