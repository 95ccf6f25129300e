"""Every run setting declared once: its ``--ssl-*`` flag, its ``ssllottery run`` flag, its ini key and help.

The pytest plugin (``plugin/options.py``) and the ``ssllottery`` CLI both register their flags from
:data:`FLAGS`, and both turn the parsed values into the same :class:`~pytest_ssllottery.suite.settings.Settings`.
Help texts follow xdist's style: start with a capital, no final period for a single phrase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["text", "path", "int", "float", "switch", "append", "choice"]
Scope = Literal["both", "pytest"]


@dataclass(frozen=True)
class Flag:
    """One setting.

    Attributes:
        name: The settings key (``data_root``); the pytest flag is ``--ssl-data-root``.
        help: One phrase.
        kind: How the value is parsed; ``switch`` takes no value, ``append`` may repeat.
        metavar: The value's placeholder in ``--help``.
        choices: The allowed values of a ``choice``.
        ini: Whether an ini key ``ssl_<name>`` can set the default.
        scope: ``pytest`` for flags that only make sense in a gated pytest run (baselines, gate numbers).
        cli: The ``ssllottery run`` flag, when not ``--<name with dashes>``.
        cli_aliases: Further spellings ``ssllottery run`` accepts (the pytest-style name, for one).
    """

    name: str
    help: str
    kind: Kind = "text"
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    ini: bool = False
    scope: Scope = "both"
    cli: str | None = None
    cli_aliases: tuple[str, ...] = ()

    @property
    def pytest_flag(self) -> str:
        """``--ssl-<name with dashes>``."""
        return "--ssl-" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        """The attribute of pytest's ``config.option``: ``ssl_<name>``."""
        return "ssl_" + self.name

    @property
    def cli_flags(self) -> tuple[str, ...]:
        """The ``ssllottery run`` spellings, main one first."""
        return (self.cli or "--" + self.name.replace("_", "-"), *self.cli_aliases)

    @property
    def default(self) -> Any:
        """The parser default: a list for repeatable flags, False for switches, else None."""
        if self.kind == "append":
            return []
        return False if self.kind == "switch" else None

    def parser_options(self, dest: str, path_type: type | None = None) -> dict[str, Any]:
        """Keyword arguments of argparse's ``add_argument`` (and pytest's ``addoption``) for this flag.

        ``path_type``: what ``path`` values become (pytest keeps them as text, resolved later against the
        right folder).
        """
        options: dict[str, Any] = {"dest": dest, "default": self.default, "help": self.help}
        if self.kind == "switch":
            options["action"] = "store_true"
            return options
        options["metavar"] = self.metavar or "|".join(self.choices) or None
        if self.kind == "append":
            options["action"] = "append"
        elif self.kind == "choice":
            options["choices"] = self.choices
        elif self.kind in ("int", "float") or (self.kind == "path" and path_type is not None):
            options["type"] = {"int": int, "float": float, "path": path_type}[self.kind]
        return options


FLAGS: tuple[Flag, ...] = (
    Flag(
        "suite",
        "Run the suite NAME (bundled, or found in the ssl_suite_dirs ini folders) or the suite TOML file PATH",
        metavar="NAME|PATH",
        ini=True,
    ),
    Flag(
        "data_root",
        "Folder holding the suite's datasets (and checkpoints/ unless --ssl-checkpoint-dir is given)",
        kind="path",
        metavar="DIR",
        ini=True,
    ),
    Flag(
        "dataset_path",
        "Location of one dataset, overriding its place under --ssl-data-root (repeatable)",
        kind="append",
        metavar="NAME=PATH",
    ),
    Flag(
        "dataset_option",
        "Set a loader option of one dataset, e.g. v2.variant=threshold-0.7 or val.expected_count=0 (repeatable)",
        kind="append",
        metavar="NAME.KEY=VALUE",
    ),
    Flag(
        "probe",
        "Override a probe setting for every method, e.g. train_per_class=50 for a fast tier (repeatable)",
        kind="append",
        metavar="KEY=VALUE",
    ),
    Flag(
        "checkpoint_dir",
        "Folder for the suite's relative checkpoint paths (default: DATA_ROOT/checkpoints)",
        kind="path",
        metavar="DIR",
    ),
    Flag(
        "device",
        "Device for feature extraction and probes (default: auto, CUDA when available)",
        metavar="auto|cpu|cuda[:N]",
        ini=True,
    ),
    Flag(
        "cache_dir",
        "Content-addressed cache of features and probes (default: .ssl_cache in the rootdir)",
        kind="path",
        metavar="DIR",
        ini=True,
    ),
    Flag(
        "baselines",
        "Baseline JSON file, or folder holding <suite>.json (default: baselines/ in the rootdir)",
        kind="path",
        metavar="PATH",
        ini=True,
        scope="pytest",
    ),
    Flag(
        "update_baselines",
        "Accept the numbers of the items that ran: write them to the baseline file, keep all others",
        kind="switch",
        scope="pytest",
    ),
    Flag(
        "benchmark",
        "Time each method's frozen forward pass as a pytest-benchmark item <suite>::<method>::throughput "
        "(also on with any --benchmark-* timing option)",
        kind="switch",
        scope="pytest",
    ),
    Flag("gate", "Override the suite's gate mode", kind="choice", choices=("absolute", "significant"), scope="pytest"),
    Flag(
        "margin", "Override the suite's gate margin (accuracy points)", kind="float", metavar="POINTS", scope="pytest"
    ),
    Flag(
        "sampling_factor",
        "Override the suite's multiple of the binomial standard error in the tolerance",
        kind="float",
        metavar="K",
        scope="pytest",
    ),
    Flag(
        "alpha",
        "Override the suite's significance level (significant gate, ties in the report)",
        kind="float",
        metavar="ALPHA",
    ),
    Flag(
        "report_json",
        "Write the rank-comparison report as JSON",
        kind="path",
        metavar="PATH",
        cli="--json",
        cli_aliases=("--report-json",),
    ),
    Flag(
        "report_md",
        "Write the rank-comparison report as Markdown",
        kind="path",
        metavar="PATH",
        cli="--md",
        cli_aliases=("--report-md",),
    ),
    Flag(
        "plots",
        "Write PNG figures of the report (val vs variant scatters, rank bump chart; needs matplotlib)",
        kind="path",
        metavar="DIR",
    ),
    Flag(
        "trust_checkpoints",
        "Allow checkpoints that need full unpickling (only for files you trust)",
        kind="switch",
    ),
    Flag(
        "skip_corrupt",
        "Skip unreadable images and count them in the report instead of failing",
        kind="switch",
    ),
    Flag(
        "decode",
        "Where image files are decoded: pil (default, loader workers, the official protocols' pixels) or gpu "
        "(nvjpeg on the CUDA device via torchvision.io.decode_jpeg; slightly different pixels, own cache entries)",
        kind="choice",
        choices=("pil", "gpu"),
    ),
    Flag("batch_size", "Images per extraction batch (default 256)", kind="int", metavar="N"),
    Flag(
        "workers",
        "DataLoader worker processes for decoding image files (default: CPU count, 0 for arrays)",
        kind="int",
        metavar="N",
    ),
)

# ini keys that are not a flag's default.
INI_ONLY: tuple[tuple[str, str], ...] = (("ssl_suite_dirs", "Folders searched for suite TOML files by name"),)


def flag(name: str) -> Flag:
    """The declaration of setting ``name``."""
    for declared in FLAGS:
        if declared.name == name:
            return declared
    raise KeyError(name)
