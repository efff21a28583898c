"""Subcommands of the govlib CLI, one module each (discovered by govlib.cli)."""
