"""The report: the report model built once, rendered to the terminal, Markdown and JSON, and the figures."""
