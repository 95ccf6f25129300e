"""Checkpoints: architectures, safe reading, official key layouts, frozen backbones, released linear heads."""
