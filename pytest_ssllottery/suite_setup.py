"""A suite ready to run: read, overridden from the command line, and checked before any item runs.

The same steps serve the pytest plugin and the ``ssllottery run`` command, so both fail at start-up, with
an error that names the file, key or flag, on everything that can be checked without reading data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .datasets import check_dataset_spec
from .errors import SpecError
from .spec import Suite, load_suite
from .spelling import did_you_mean


@dataclass(frozen=True)
class SuiteOverrides:
    """What the command line changes in a suite."""

    gate: Mapping[str, Any] = field(default_factory=dict)
    dataset_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    probe: Mapping[str, Any] = field(default_factory=dict)
    dataset_paths: Mapping[str, Path] = field(default_factory=dict)


def check_dataset_names(suite: Suite, names: Any, flag: str, what: str) -> None:
    """Every name given to ``flag`` must be a dataset of the suite.

    Raises:
        SpecError: naming the flag, the unknown name, the suite's datasets and the closest one.
    """
    known = [d.name for d in suite.datasets]
    for name in names:
        if name not in known:
            raise SpecError(
                f"{flag}: {what} for {name!r}, but the suite's datasets are {', '.join(known)}."
                + did_you_mean(name, known)
            )


def prepare_suite(path: Path, overrides: SuiteOverrides | None = None) -> Suite:
    """Read the suite at ``path``, apply ``overrides`` and check every dataset's loader and options.

    Raises:
        SpecError: the suite file, or an override, is invalid; the message says which and how to fix it.
    """
    overrides = overrides or SuiteOverrides()
    suite = load_suite(path)
    for index, dataset in enumerate(suite.datasets):
        check_dataset_spec(dataset, f"{path}: [[datasets]] table number {index + 1} ({dataset.name!r})")
    check_dataset_names(suite, overrides.dataset_paths, "--ssl-dataset-path", "a path")
    check_dataset_names(suite, overrides.dataset_options, "--ssl-dataset-option", "dataset option")
    if overrides.gate:
        suite = suite.with_gate(**overrides.gate)
    if overrides.dataset_options or overrides.probe:
        suite = suite.with_overrides(
            {name: dict(values) for name, values in overrides.dataset_options.items()},
            dict(overrides.probe),
            "--ssl-dataset-option/--ssl-probe",
        )
    for name, values in overrides.dataset_options.items():
        options = ", ".join(f"{name}.{key}={value}" for key, value in values.items())
        check_dataset_spec(suite.dataset(name), f"--ssl-dataset-option {options}")
    return suite
