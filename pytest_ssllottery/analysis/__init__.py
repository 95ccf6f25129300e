"""The rank-comparison analysis: results tables (run here or read from files) -> ranks, scores, lottery."""
