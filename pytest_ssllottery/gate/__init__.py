"""The gate: the baseline store and its typed entries, the rules that judge records, the run that gathers them."""
