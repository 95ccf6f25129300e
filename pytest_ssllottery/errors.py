"""Errors raised by the pure core.

Every message names the thing that is wrong (file, key, flag), says what was expected and what was
found, and how to fix it. The pytest layer turns these into usage errors or item failures.
"""

from __future__ import annotations


class SslLotteryError(Exception):
    """Base class of every error this package raises on purpose."""


class SettingsError(SslLotteryError):
    """A command-line flag or ini value is invalid (pytest shows it as a usage error)."""


class SpecError(SslLotteryError):
    """A suite TOML file does not match the schema."""


class SuiteNotFoundError(SslLotteryError):
    """A suite name or path given by the user does not resolve to a suite file."""


class CheckpointError(SslLotteryError):
    """A checkpoint cannot be read, trusted, verified or fitted to its architecture."""


class DatasetError(SslLotteryError):
    """A dataset root is missing or its on-disk layout does not match the declared loader."""


class ImageDecodeError(DatasetError):
    """An image file cannot be decoded."""


class CacheError(SslLotteryError, OSError):
    """The cache folder cannot be read or written (permissions, full disk), or an entry is inconsistent."""


class NonFiniteError(SslLotteryError):
    """Features, logits or a score came out NaN or infinite: a broken model, never a result."""


class BaselineError(SslLotteryError):
    """A baseline file is corrupt, of an unknown schema, or cannot be written safely."""


class TableError(SslLotteryError):
    """A results table given to the analysis CLI cannot be read."""


class StatisticsError(SslLotteryError, ValueError):
    """A statistic was asked for on input it is not defined for (for example n = 0)."""


class ExtractionError(SslLotteryError):
    """Feature extraction failed on a rank of a torchrun job (the message says which and why)."""
