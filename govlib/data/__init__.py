"""govlib.data."""
