"""govlib.reports."""
