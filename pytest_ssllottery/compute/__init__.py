"""The engine and what it runs: preprocessing, feature extraction, the content-addressed cache, linear probes."""
