"""The report: the rank-comparison analysis, results tables from files, the report model and its renderers, plots."""
