"""Suites: the TOML schema and its parsing, bundled resources, and run settings declared once for pytest and the CLI."""
