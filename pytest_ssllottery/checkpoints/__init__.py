"""Checkpoints: architectures, safe reading, official key layouts, and frozen backbones."""
