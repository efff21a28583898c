"""govlib.survey."""
