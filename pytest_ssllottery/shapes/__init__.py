"""The embedded ``shapes`` benchmark: a seeded miniature of ImageNet and its variants, and its SSL zoo.

``family`` generates and caches the seven splits (see ``docs/shapes.md``); ``zoo`` trains the small
backbones shipped in ``checkpoints/`` (see ``docs/zoo.md``).
"""
