"""``ssllottery`` / ``python -m pytest_ssllottery``: the same analysis and report without pytest.

- ``analyze TABLE``: rank-comparison report of a results table nobody ran here (CSV, JSON, or a folder of
  timm ``results-*.csv`` files).
- ``run --suite NAME``: compute every cell of a suite (features, probe, evaluation) and print the report,
  without gating; the accuracy matrix of the shapes zoo is ``ssllottery run --suite shapes``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from . import __version__
from .analysis.compare import Analysis, FitOptions, analyse
from .errors import SslLotteryError
from .report.model import ReportInput
from .report.outputs import write_outputs
from .report.sections import build_report
from .report.terminal import render_terminal
from .spelling import did_you_mean
from .suite.flags import FLAGS, Flag
from .suite.settings import Invocation, ReportSettings, resolve_settings
from .suite.spec import GateSpec

REPORT_FLAGS = ("report_json", "report_md", "plots")


def _add_flag(parser: argparse.ArgumentParser, flag: Flag) -> None:
    """One setting of the shared declaration table, as ``ssllottery`` spells it."""
    parser.add_argument(*flag.cli_flags, **flag.parser_options(flag.name, path_type=Path))


def _common(parser: argparse.ArgumentParser) -> None:
    for flag in FLAGS:
        if flag.name in REPORT_FLAGS:
            _add_flag(parser, flag)
    parser.add_argument("--top", type=int, default=None, metavar="N", help="Show only the first N methods in tables")
    parser.add_argument("--color", choices=("auto", "yes", "no"), default="auto", help="Colour the terminal report")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="Shorter report")


INPUT_FORMATS = """\
input formats (accuracies in percent):
  CSV, long form   columns method,dataset,accuracy[,n]; one row per cell
  CSV, wide form   a method (or model) column and one column per dataset
  JSON             {"reference": "val", "n": {method: {dataset: n}}, "accuracy": {method: {dataset: acc}}},
                   or {method: {dataset: acc | {"accuracy": acc, "n": n}}}, or a --ssl-report-json file
  folder           timm's results-imagenet.csv, results-imagenet-real.csv, results-imagenetv2-matched-frequency.csv,
                   results-imagenet-r.csv, results-sketch.csv, results-imagenet-a.csv (image counts are known)
The reference is the table's own ("reference" in JSON, val for timm), else the first dataset column (the report
says so). Without image counts, the weighted average is an equal-weight mean (the report says so)."""


def _fit_against(values: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        dataset, sep, column = value.partition("=")
        if not sep or not dataset or not column:
            raise SslLotteryError(f"--fit-against {value!r}: expected DATASET=COLUMN, e.g. rendition=val-on-r-classes")
        pairs[dataset] = column
    return pairs


def _fit_range(value: str | None) -> tuple[float, float]:
    if not value:
        return (0.0, 100.0)
    low, sep, high = value.partition(":")
    try:
        bounds = (float(low) if low else 0.0, float(high) if high else 100.0)
    except ValueError:
        bounds = (1.0, 0.0)
    if not sep or not 0 <= bounds[0] < bounds[1] <= 100:
        raise SslLotteryError(f"--fit-range {value!r}: expected LOW:HIGH in percent, e.g. 60:100 or 60:")
    return bounds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ssllottery", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser(
        "analyze",
        help="Analyse a results table (CSV, JSON, or timm results folder)",
        epilog=INPUT_FORMATS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    analyze.add_argument("table", type=Path, help="CSV or JSON file, or a folder of timm results-*.csv files")
    analyze.add_argument("--reference", help="Reference dataset (default: the table's, e.g. val)")
    analyze.add_argument("--aggregate", help="Comma-separated datasets of the unified scores (default: all)")
    analyze.add_argument("--weights", choices=("images", "equal"), default="images", help="Weighted-average weights")
    analyze.add_argument(
        "--close-within",
        type=float,
        default=1.0,
        metavar="POINTS",
        help="Pairs this close on the reference count as close for flip rates (default 1)",
    )
    analyze.add_argument("--alpha", type=float, default=0.05, help="Significance level for ties (default 0.05)")
    analyze.add_argument("--best", type=int, metavar="N", help="Analyse only the N methods best on the reference")
    analyze.add_argument(
        "--datasets", metavar="A,B,...", help="Analyse only these dataset columns (wide tables; include the reference)"
    )
    analyze.add_argument(
        "--fit-against",
        action="append",
        default=[],
        metavar="DATASET=COLUMN",
        help="Fit DATASET's effective robustness against COLUMN instead of the reference, "
        "e.g. rendition=val-on-r-classes (repeatable)",
    )
    analyze.add_argument(
        "--fit-range",
        metavar="LOW:HIGH",
        help="Fit effective robustness only on methods whose x accuracy (percent) lies in LOW..HIGH, e.g. 60:",
    )
    analyze.add_argument(
        "--floor",
        type=float,
        metavar="POINTS",
        help="Count accuracies below POINTS as POINTS in the geometric mean, so one zero does not zero it",
    )
    analyze.add_argument(
        "--gate",
        choices=("absolute", "significant"),
        default="absolute",
        help="Gate whose detectable drops the report shows (default absolute, as a suite's default)",
    )
    analyze.add_argument(
        "--margin", type=float, default=1.0, metavar="POINTS", help="The gate's margin in points (default 1)"
    )
    analyze.add_argument(
        "--sampling-factor",
        type=float,
        default=2.0,
        metavar="K",
        help="Absolute gate: tolerance max(margin, K x standard error) (default 2)",
    )
    analyze.add_argument(
        "--power-drop",
        type=float,
        default=0.5,
        metavar="POINTS",
        help="Report the probability that the gate catches a drop of this size in one cell (default 0.5)",
    )
    _common(analyze)
    run = commands.add_parser("run", help="Compute every cell of a suite and print the report (no gating)")
    for flag in FLAGS:
        if flag.scope == "both" and flag.name not in REPORT_FLAGS:
            _add_flag(run, flag)
    _common(run)
    return parser


def _color(choice: str) -> bool:
    if choice != "auto":
        return choice == "yes"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _emit(data: ReportInput, args: argparse.Namespace) -> None:
    outputs = ReportSettings(args.report_json, args.report_md, args.plots)
    notes = write_outputs(build_report(data), outputs, job_summary=False)
    if notes:
        data = replace(data, notes=[*data.notes, *notes])
    width = shutil.get_terminal_size((120, 40)).columns
    report = build_report(data, -int(args.quiet))
    sys.stdout.write(render_terminal(report, width=width, color=_color(args.color)))


def _analyze(args: argparse.Namespace) -> ReportInput:
    from .analysis.tables import read_table

    loaded = read_table(args.table)
    if args.datasets:
        loaded = loaded.select(tuple(d.strip() for d in args.datasets.split(",") if d.strip()))
    if args.best:
        loaded = loaded.best(args.best, args.reference)
    aggregate = tuple(a.strip() for a in args.aggregate.split(",")) if args.aggregate else None
    table = loaded.to_result_table(args.reference, aggregate, args.weights)
    if args.floor is not None and not 0 < args.floor <= 100:
        raise SslLotteryError(f"--floor {args.floor:g}: expected accuracy points in (0, 100], e.g. 0.1")
    fits = FitOptions(against=_fit_against(args.fit_against), x_range=_fit_range(args.fit_range))
    for dataset, column in fits.against.items():
        for name in (dataset, column):
            if name not in table.datasets:
                raise SslLotteryError(
                    f"--fit-against {dataset}={column}: {name!r} is not a dataset of the table."
                    + did_you_mean(name, table.datasets)
                )
    analysis: Analysis = analyse(
        table, alpha=args.alpha, close_within=args.close_within, fit_options=fits, floor=args.floor
    )
    scope = f" (the {args.best} best on the reference)" if args.best else ""
    title = f"SSL lottery analysis of {args.table}: {len(table.methods)} methods{scope}, reference {table.reference}"
    notes = [note for note in [loaded.reference_note(args.reference)] if note]
    if table.weighting != "images":
        notes.append(f"weighted average: {table.weighting}")
    warnings = [*analysis.fit_warnings, *loaded.warnings]
    notes += [f"warning: {w}" for w in warnings[:20]]
    if len(warnings) > 20:
        notes.append(f"... and {len(warnings) - 20} more warnings")
    if args.margin < 0 or args.sampling_factor < 0 or args.power_drop <= 0:
        raise SslLotteryError(
            f"--margin {args.margin:g}, --sampling-factor {args.sampling_factor:g}, --power-drop "
            f"{args.power_drop:g}: expected a margin and factor >= 0 and a drop > 0 (points), e.g. --power-drop 0.5"
        )
    gate = GateSpec(margin=args.margin, sampling_factor=args.sampling_factor, mode=args.gate, alpha=args.alpha)
    return ReportInput(
        title,
        analysis,
        notes=notes,
        max_rows=args.top if args.top else (25 if len(table.methods) > 40 else None),
        gate=gate,
        power_drop=args.power_drop,
    )


def _run(args: argparse.Namespace) -> ReportInput:
    from .analysis.suite_table import suite_analysis
    from .compute.cache import check_writable
    from .compute.prepare import prepare_suite
    from .gate.run import LotteryRun, RunConfig

    if not args.suite:
        raise SslLotteryError("run: --suite is required (a bundled suite name or the path to a suite TOML file)")
    cwd = Path.cwd()
    settings = resolve_settings({f.name: getattr(args, f.name, None) for f in FLAGS}, Invocation(cwd, cwd))
    suite = prepare_suite(settings.suite_path, settings.overrides)
    check_writable(settings.run.cache_dir)
    run = LotteryRun(RunConfig(suite, settings.run))
    run.compute_all()
    title = f"SSL lottery run of suite {suite.name} (no baselines, no gate), reference {suite.reference}"
    return ReportInput(title, suite_analysis(suite, run.records().cells), max_rows=args.top, gate=suite.gate)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 for bad input)."""
    args = _parser().parse_args(argv)
    try:
        data = _analyze(args) if args.command == "analyze" else _run(args)
        _emit(data, args)
    except SslLotteryError as exc:
        sys.stderr.write(f"ssllottery: error: {exc}\n")
        return 2
    return 0
