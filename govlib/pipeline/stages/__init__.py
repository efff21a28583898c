"""Build stages: pure functions dict[str, DataFrame] + Settings -> dict[str, DataFrame]."""
