"""govlib.pipeline."""
