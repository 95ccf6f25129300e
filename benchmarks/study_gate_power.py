"""How often the gate fires when nothing changed, and how large a drop it catches, on the shapes zoo's real outputs.

Every run below is judged against the suite's own run (the baseline) by the gate as the plugin applies it
(``pytest_ssllottery.gate.replay``), in both modes, cells and unified scores:

- **False alarms.** (a) Re-probed runs: the suite's L-BFGS probe with probe seeds 1..K, and an SGD probe (the
  official protocols' optimiser: random init and batch order) with seeds 1..K against its seed-0 run.
  (b) Float rounding: features extracted again with one torch thread and with another batch size.
- **Power.** Drops of d points planted in every cell of a null run (a random d % of the images turn from
  correct to wrong), ``--reps`` times per d; and real weaker models: each member with Gaussian noise added to
  its last residual stage's weights.

Needs the shapes features in the cache (a run of ``pytest --ssl-suite=shapes`` fills it; the script extracts
what is missing). Writes JSON; ``--tables FILE.json`` prints the Markdown tables of docs/statistics.md again.

    python benchmarks/study_gate_power.py --json gate_power.json
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pytest_ssllottery.compute.engine import Engine
from pytest_ssllottery.compute.features import extract_features
from pytest_ssllottery.compute.prepare import prepare_suite
from pytest_ssllottery.compute.probe import fit_probe
from pytest_ssllottery.compute.records import CellRecord
from pytest_ssllottery.datasets.labels import correctness, predict
from pytest_ssllottery.gate.replay import judge_run, plant_drop, with_correctness
from pytest_ssllottery.gate.sensitivity import cell_detectable_drop
from pytest_ssllottery.stats import wilson
from pytest_ssllottery.suite.settings import Invocation, resolve_settings
from pytest_ssllottery.suite.spec import GateSpec, ProbeSpec, Suite

Run = dict[str, list[CellRecord]]
MODES = ("absolute", "significant")
SGD_PROBE = ProbeSpec(optimizer="sgd", epochs=30, lr=0.1, momentum=0.9, weight_decay=0.0, batch_size=256)


class Study:
    """The suite's engine, its features, and runs re-scored under other probes or features."""

    def __init__(self, suite: Suite, engine: Engine) -> None:
        self.suite, self.engine = suite, engine
        self.methods = [m.name for m in suite.methods]
        self.evals = [d.name for d in suite.datasets if d.name != suite.train]
        self.reference = {m: [engine.cell(m, d) for d in self.evals] for m in self.methods}

    def weights(self) -> dict[str, list[float]]:
        """Per method, the unified scores' weights over the aggregate datasets."""
        out = {}
        for method, cells in self.reference.items():
            by = {c.dataset: c for c in cells}
            out[method] = [self.suite.aggregate_weight(d, by[d].n) for d in self.suite.aggregate_datasets]
        return out

    def features(self, method: str, dataset: str) -> np.ndarray:
        """The suite's features (from the cache)."""
        spec = self.suite.method(method)
        return self.engine.features(spec, self.engine.dataset(dataset))[0].features

    def rescore(
        self, method: str, probe_spec: ProbeSpec, features: Mapping[str, np.ndarray] | None = None
    ) -> list[CellRecord]:
        """The method's cells under another probe (and optionally other features), on the same images."""
        get = (lambda d: features[d]) if features is not None else (lambda d: self.features(method, d))
        train = self.engine.dataset(self.suite.train)
        probe = fit_probe(get(self.suite.train), train.labels.targets, self.suite.num_classes, probe_spec)
        cells = []
        for record in self.reference[method]:
            dataset = self.engine.dataset(record.dataset)
            hits = correctness(predict(probe.logits(get(record.dataset)), dataset.labels), dataset.labels, None)
            cells.append(with_correctness(record, hits))
        return cells

    def extract(
        self, method: str, model: torch.nn.Module | None = None, batch_size: int | None = None
    ) -> dict[str, np.ndarray]:
        """Features of every split, extracted now (another model, thread count or batch size)."""
        spec = self.suite.method(method)
        settings = self.engine.extraction_settings()
        if batch_size is not None:
            settings = replace(settings, batch_size=batch_size)
        model = model if model is not None else self.engine.backbone(spec).model
        out = {}
        for name in [self.suite.train, *self.evals]:
            images = self.engine.dataset(name).images
            out[name] = extract_features(model, images, spec.preprocessing, settings).features
        return out


def _gates(suite: Suite) -> dict[str, GateSpec]:
    return {mode: replace(suite.gate, mode=mode) for mode in MODES}


def _judge(study: Study, run: Run, reference: Run, gates: Mapping[str, GateSpec]) -> dict[str, dict[str, list[str]]]:
    out = {}
    for mode, gate in gates.items():
        verdicts = judge_run(
            run, reference, study.suite.aggregate_datasets, study.weights(), gate, study.suite.bootstrap_resamples
        )
        out[mode] = {"cells": list(verdicts.cells), "scores": list(verdicts.scores)}
    return out


def _pairs(run: Run, reference: Run) -> list[tuple[CellRecord, CellRecord]]:
    return [(a, b) for m in run for a, b in zip(run[m], reference[m], strict=True)]


def _discordance(run: Run, reference: Run) -> float:
    return float(np.mean([np.mean(a.correctness() != b.correctness()) for a, b in _pairs(run, reference)]))


def null_runs(study: Study, seeds: int, lbfgs_seeds: int, log) -> dict[str, Any]:
    """False alarms: re-probed runs (L-BFGS and SGD seeds) and float-rounding runs.

    The suite's L-BFGS probe is full-batch from a zero start: its seed changes nothing, which ``lbfgs_seeds``
    refits show (they are expensive, so fewer than the SGD seeds).
    """
    gates = _gates(study.suite)
    out: dict[str, Any] = {}
    lbfgs = {m: study.suite.method(m).probe for m in study.methods}
    cases: dict[str, list[Run]] = {"lbfgs_seeds": [], "sgd_seeds": []}
    for seed in range(1, lbfgs_seeds + 1):
        cases["lbfgs_seeds"].append({m: study.rescore(m, replace(p, seed=seed)) for m, p in lbfgs.items()})
        log(f"lbfgs seed {seed}")
    sgd_reference = {m: study.rescore(m, SGD_PROBE) for m in study.methods}
    for seed in range(1, seeds + 1):
        cases["sgd_seeds"].append({m: study.rescore(m, replace(SGD_PROBE, seed=seed)) for m in study.methods})
        log(f"sgd seed {seed}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1 if threads > 1 else 2)
    other_threads = {m: study.rescore(m, p, study.extract(m)) for m, p in lbfgs.items()}
    torch.set_num_threads(threads)
    log("other thread count")
    other_batch = {m: study.rescore(m, p, study.extract(m, batch_size=7)) for m, p in lbfgs.items()}
    log("batch size 7")
    cases["float_rounding"] = [other_threads, other_batch]
    for name, runs in cases.items():
        reference = sgd_reference if name == "sgd_seeds" else study.reference
        judged = [_judge(study, run, reference, gates) for run in runs]
        out[name] = {
            "runs": len(runs),
            "discordance": statistics.median(_discordance(run, reference) for run in runs),
            "max_abs_change_points": max(
                abs(a.accuracy - b.accuracy) for run in runs for a, b in _pairs(run, reference)
            ),
            "failed_runs": {mode: sum(bool(j[mode]["cells"] or j[mode]["scores"]) for j in judged) for mode in MODES},
            "failed_values": {
                mode: sorted({k for j in judged for k in j[mode]["cells"] + j[mode]["scores"]}) for mode in MODES
            },
        }
    out["_sgd_reference"] = sgd_reference
    out["_sgd_null"] = cases["sgd_seeds"][0]
    return out


def planted(study: Study, null: Run, reference: Run, drops: Sequence[float], reps: int, log) -> dict[str, Any]:
    """Power: drops planted in every cell of a null run; detection per dataset and for the unified scores."""
    gates = _gates(study.suite)
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    for drop in drops:
        caught = {mode: {d: 0 for d in study.evals} | {"scores": 0} for mode in MODES}
        for _ in range(reps):
            run = {
                m: [with_correctness(c, plant_drop(c.correctness(), drop, rng)) for c in cells]
                for m, cells in null.items()
            }
            judged = _judge(study, run, reference, gates)
            for mode in MODES:
                for key in judged[mode]["cells"]:
                    caught[mode][key.split("::")[1]] += 1
                caught[mode]["scores"] += len(judged[mode]["scores"])
        per = len(study.methods) * reps
        out[str(drop)] = {
            mode: {k: v / (per * (2 if k == "scores" else 1)) for k, v in caught[mode].items()} for mode in MODES
        }
        log(f"planted {drop}")
    return out


def perturbed(study: Study, scales: Sequence[float], log) -> dict[str, Any]:
    """Real weaker models: Gaussian noise (``scale`` x the weights' std) on the last residual stage."""
    gates = _gates(study.suite)
    torch.manual_seed(0)
    out: dict[str, Any] = {}
    for scale in scales:
        run: Run = {}
        for method in study.methods:
            model = copy.deepcopy(study.engine.backbone(study.suite.method(method)).model)
            stage = [p for name, p in model.named_parameters() if name.startswith("layer") and p.dim() == 4][-3:]
            with torch.no_grad():
                for weight in stage:
                    weight.add_(torch.randn_like(weight) * scale * weight.std())
            run[method] = study.rescore(method, study.suite.method(method).probe, study.extract(method, model))
        judged = _judge(study, run, study.reference, gates)
        changes = [a.accuracy - b.accuracy for m in run for a, b in zip(run[m], study.reference[m], strict=False)]
        out[str(scale)] = {
            "median_change_points": statistics.median(changes),
            "cells_dropped_over_2": sum(c < -2 for c in changes),
            "cells": len(changes),
            "failed": {
                mode: {"cells": len(judged[mode]["cells"]), "scores": len(judged[mode]["scores"])} for mode in MODES
            },
            "caught_of_drops_over_2": {
                mode: sum(
                    1
                    for m in run
                    for a, b in zip(run[m], study.reference[m], strict=False)
                    if a.accuracy - b.accuracy < -2 and a.key in judged[mode]["cells"]
                )
                for mode in MODES
            },
        }
        log(f"perturbed {scale}")
    return out


def predicted(study: Study) -> dict[str, dict[str, float]]:
    """The formula's 80 % drop per dataset (median over the methods), for comparison with the planted drops."""
    family = len(study.methods) * len(study.evals)
    out: dict[str, dict[str, float]] = {}
    for mode, gate in _gates(study.suite).items():
        out[mode] = {}
        for i, dataset in enumerate(study.evals):
            cells = [study.reference[m][i] for m in study.methods]
            out[mode][dataset] = statistics.median(
                cell_detectable_drop(c.accuracy, c.n, gate, family, 0.0) for c in cells
            )
    return out


def _rate(failed: int, runs: int) -> str:
    low, high = wilson(failed, runs)
    return f"{failed}/{runs} = {100 * failed / runs:.0f} % (95 % CI {100 * low:.0f}–{100 * high:.0f} %)"


def tables(result: Mapping[str, Any]) -> str:
    """The Markdown tables of docs/statistics.md, from the JSON result."""
    lines = [
        "| null runs | runs | median discordance | largest change (pt) | absolute: runs failing "
        "| significant: runs failing |",
        "|---|---|---|---|---|---|",
    ]
    for name, case in result["null"].items():
        lines.append(
            f"| {name} | {case['runs']} | {100 * case['discordance']:.2f} % | {case['max_abs_change_points']:.2f} | "
            + " | ".join(_rate(case["failed_runs"][m], case["runs"]) for m in MODES)
            + " |"
        )
    datasets = result["datasets"]
    for key, label in (("planted", "suite probe (L-BFGS)"), ("planted_sgd", "SGD probe, on a seed-1 run")):
        lines += [
            "",
            f"| drop (pt), {label} | mode | "
            + " | ".join(f"{d} (n={result['sizes'][d]:,})" for d in datasets)
            + " | unified scores |",
        ]
        lines.append("|---|---|" + "---|" * (len(datasets) + 1))
        for drop, modes in result[key].items():
            for mode in MODES:
                rates = modes[mode]
                lines.append(
                    f"| {drop} | {mode} | "
                    + " | ".join(f"{100 * rates[d]:.0f} %" for d in datasets)
                    + f" | {100 * rates['scores']:.0f} % |"
                )
    lines += ["", "| mode | " + " | ".join(datasets) + " |", "|---|" + "---|" * len(datasets)]
    for mode in MODES:
        lines.append(
            f"| {mode}: measured 80 % drop | " + " | ".join(_measured80(result, mode, d) for d in datasets) + " |"
        )
        lines.append(
            f"| {mode}: formula (lone drop) | "
            + " | ".join(f"{result['predicted'][mode][d]:.2f}" for d in datasets)
            + " |"
        )
    lines += [
        "",
        "| noise scale | median change (pt) | cells dropping > 2 pt | absolute: cells failed (of those) "
        "| significant: cells failed (of those) |",
        "|---|---|---|---|---|",
    ]
    for scale, case in result["perturbed"].items():
        lines.append(
            f"| {scale} | {case['median_change_points']:+.2f} | {case['cells_dropped_over_2']}/{case['cells']} | "
            + " | ".join(f"{case['failed'][m]['cells']} ({case['caught_of_drops_over_2'][m]})" for m in MODES)
            + " |"
        )
    return "\n".join(lines)


def _measured80(result: Mapping[str, Any], mode: str, dataset: str) -> str:
    points = sorted((float(d), r[mode][dataset]) for d, r in result["planted"].items())
    for (d0, r0), (d1, r1) in itertools.pairwise(points):
        if r0 < 0.8 <= r1:
            return f"{d0 + (0.8 - r0) * (d1 - d0) / (r1 - r0):.2f}"
    return "≤ " + str(points[0][0]) if points and points[0][1] >= 0.8 else "> " + str(points[-1][0])


def main() -> None:
    """Run the study, write its JSON, print its tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="shapes")
    parser.add_argument("--cache-dir", default=".ssl_cache")
    parser.add_argument("--seeds", type=int, default=20, help="SGD probe seeds")
    parser.add_argument("--lbfgs-seeds", type=int, default=3, help="L-BFGS refits with other seeds")
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--drops", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0, 4.0, 8.0])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.1, 0.3])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (pinned: results depend on it)")
    parser.add_argument("--json", type=Path, default=Path("gate_power.json"))
    parser.add_argument("--tables", type=Path, help="Print the tables of an earlier JSON result and exit")
    args = parser.parse_args()
    if args.tables:
        print(tables(json.loads(args.tables.read_text())))
        return
    torch.set_num_threads(args.threads)
    start = time.perf_counter()

    def log(what: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f} s] {what}", flush=True)

    cwd = Path.cwd()
    settings = resolve_settings({"suite": args.suite, "cache_dir": args.cache_dir}, Invocation(cwd, cwd))
    suite = prepare_suite(settings.suite_path, settings.overrides)
    study = Study(suite, Engine(suite, settings.run))
    log("reference run")
    null = null_runs(study, args.seeds, args.lbfgs_seeds, log)
    sgd_null, sgd_reference = null.pop("_sgd_null"), null.pop("_sgd_reference")
    result = {
        "command": "python benchmarks/study_gate_power.py "
        + " ".join(
            f"--{k.replace('_', '-')} {v}"
            for k, v in vars(args).items()
            if k in ("seeds", "lbfgs_seeds", "reps", "threads")
        ),
        "suite": suite.name,
        "gate": {"margin": suite.gate.margin, "sampling_factor": suite.gate.sampling_factor, "alpha": suite.gate.alpha},
        "datasets": study.evals,
        "sizes": {c.dataset: c.n for c in study.reference[study.methods[0]]},
        "methods": study.methods,
        "null": null,
        "planted": planted(study, study.reference, study.reference, args.drops, args.reps, log),
        "planted_sgd": planted(study, sgd_null, sgd_reference, args.drops, args.reps, log),
        "perturbed": perturbed(study, args.noise, log),
        "predicted": predicted(study),
        "seconds": round(time.perf_counter() - start, 1),
    }
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(tables(result))


if __name__ == "__main__":
    main()
