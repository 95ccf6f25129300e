"""Suites: the TOML schema, its parsing, bundled resources, run settings and a suite made ready to run."""
