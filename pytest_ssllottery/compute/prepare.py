"""A suite ready to run: read, overridden from the command line, and checked before any item runs.

The same steps serve the pytest plugin and the ``ssllottery run`` command, so both fail at start-up, with
an error that names the file, key or flag, on everything that can be checked without reading data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..datasets import check_dataset_spec
from ..errors import SpecError
from ..spelling import did_you_mean
from ..suite.fields import Table
from ..suite.parse import load_suite, parse_probe
from ..suite.settings import SuiteOverrides
from ..suite.spec import Suite


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


def apply_overrides(
    suite: Suite,
    dataset_options: Mapping[str, Mapping[str, Any]],
    probe: Mapping[str, Any],
    origin: str = "command line",
) -> Suite:
    """A copy with loader options merged into datasets and probe settings replaced for every method.

    Raises:
        SpecError: an unknown dataset name or probe key, or a value of the wrong type.
    """
    check_dataset_names(suite, dataset_options, origin, "dataset option")
    datasets = tuple(replace(d, options={**d.options, **dataset_options.get(d.name, {})}) for d in suite.datasets)
    methods = suite.methods
    if probe:
        table = Table(dict(probe), Path(origin), "probe")
        methods = tuple(replace(m, probe=parse_probe(table, m.probe)) for m in suite.methods)
    return replace(suite, datasets=datasets, methods=methods)


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
        suite = apply_overrides(suite, overrides.dataset_options, overrides.probe, "--ssl-dataset-option/--ssl-probe")
    for name, values in overrides.dataset_options.items():
        options = ", ".join(f"{name}.{key}={value}" for key, value in values.items())
        check_dataset_spec(suite.dataset(name), f"--ssl-dataset-option {options}")
    return suite
