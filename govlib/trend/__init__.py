"""govlib.trend."""
