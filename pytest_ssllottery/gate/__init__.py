"""The gate: result records, the baseline store, the rules that judge records, and the run that gathers them."""
