"""govlib.index."""
