"""The engine and what it runs: a suite made ready, preprocessing, feature extraction, the cache, probes, records."""
