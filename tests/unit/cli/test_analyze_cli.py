"""`ssllottery analyze` on tables nobody ran here, and `ssllottery run` on a suite, without pytest."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from pytest_ssllottery.analysis.tables import TIMM_FILES, read_table
from pytest_ssllottery.cli import main
from pytest_ssllottery.errors import TableError

METHODS = {
    "dino": {"val": 75.3, "real": 81.0, "v2": 62.0, "rendition": 20.0, "sketch": 15.0, "adversarial": 2.0},
    "swav": {"val": 75.1, "real": 80.8, "v2": 61.9, "rendition": 21.0, "sketch": 14.0, "adversarial": 1.5},
    "moco": {"val": 71.1, "real": 77.5, "v2": 59.0, "rendition": 30.0, "sketch": 20.0, "adversarial": 3.0},
    "barlow": {"val": 73.2, "real": 79.4, "v2": 60.5, "rendition": 26.0, "sketch": 19.0, "adversarial": 2.5},
}


def _wide_csv(path: Path) -> Path:
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        datasets = list(METHODS["dino"])
        writer.writerow(["method", *datasets])
        for method, values in METHODS.items():
            writer.writerow([method, *(values[d] for d in datasets)])
    return path


def _timm_folder(folder: Path) -> Path:
    folder.mkdir()
    names = {v[0]: k for k, v in TIMM_FILES.items()}
    for dataset in METHODS["dino"]:
        with (folder / f"{names[dataset]}.csv").open("w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["model", "img_size", "top1", "top1_err", "top5", "top5_err", "param_count"])
            for method, values in METHODS.items():
                writer.writerow([method, 224, values[dataset], 100 - values[dataset], 99.0, 1.0, "25.56"])
            if dataset == "val":
                writer.writerow(["dino", 288, 76.0, 24.0, 99.0, 1.0, "25.56"])
    (folder / "results-imagenet-r-clean.csv").write_text("model,img_size,top1\nx,224,1.0\n")
    return folder


def test_wide_csv_report_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = _wide_csv(tmp_path / "table.csv")
    assert main(["analyze", str(table), "--json", str(tmp_path / "out.json"), "--color", "no"]) == 0
    out = capsys.readouterr().out
    assert "SSL lottery analysis of" in out
    assert "reference val" in out
    report = json.loads((tmp_path / "out.json").read_text())["analysis"]
    val = [METHODS[m]["val"] for m in METHODS]
    sketch = [METHODS[m]["sketch"] for m in METHODS]
    assert report["correlations"]["sketch"]["pearson"]["estimate"] == pytest.approx(
        stats.pearsonr(val, sketch)[0], abs=1e-6
    )
    assert report["ranks"]["rendition"]["moco"] == 1
    # equal weights when no n is known: the weighted average is the mean
    assert report["aggregates"]["moco"]["weighted_average"] == pytest.approx(
        np.mean(list(METHODS["moco"].values())), abs=1e-6
    )
    flips = {(p["better_on_reference"], p["worse_on_reference"]) for p in report["lottery"]}
    assert ("dino", "moco") in flips


def test_long_csv_with_counts(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    rows = ["method,dataset,accuracy,n"] + [
        f"{m},{d},{v},{1000 if d == 'val' else 100}" for m, per in METHODS.items() for d, v in per.items()
    ]
    path.write_text("\n".join(rows) + "\n")
    table = read_table(path).to_result_table()
    assert table.reference == "val"
    assert table.cells[("moco", "val")].n == 1000
    assert table.methods[0] == "dino"  # sorted by the reference


def test_json_forms(tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(METHODS))
    assert set(read_table(plain).accuracy) == set(METHODS)
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"reference": "v2", "accuracy": METHODS, "n": {"dino": {"val": 50000}}}))
    loaded = read_table(nested)
    assert loaded.reference == "v2"
    assert loaded.n["dino"]["val"] == 50000


def test_timm_folder_joins_files_and_names_resolutions(tmp_path: Path) -> None:
    loaded = read_table(_timm_folder(tmp_path / "timm"))
    assert loaded.datasets == ["val", "real", "v2", "rendition", "sketch", "adversarial"]
    assert "dino@224" in loaded.accuracy
    assert "dino@288" in loaded.accuracy
    assert loaded.n["moco"]["adversarial"] == 7_500
    assert any("dino@288: no row in real" in w for w in loaded.warnings)
    table = loaded.to_result_table()
    assert "x" not in table.methods  # the -clean file is ignored


def test_timm_folder_cli_with_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    folder = _timm_folder(tmp_path / "timm")
    code = main(
        ["analyze", str(folder), "--plots", str(tmp_path / "plots"), "--md", str(tmp_path / "r.md"), "--color", "no"]
    )
    assert code == 0
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert pngs == [
        "rank_bump.png",
        *(f"scatter_{d}.png" for d in sorted(["real", "v2", "rendition", "sketch", "adversarial"])),
    ]
    assert all((tmp_path / "plots" / p).stat().st_size > 5000 for p in pngs)
    assert (tmp_path / "r.md").read_text().startswith("## SSL lottery analysis")
    assert "warning: dino@288: no row in real" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("foo,bar\n1,2\n", "expected columns method,dataset,accuracy"),
        ("method,val\nx,150\n", "outside [0, 100]; give accuracies in percent"),
        ("method,val\nx,abc\n", "expected an accuracy in percent, found 'abc'"),
    ],
)
def test_bad_tables_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["analyze", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_unknown_reference_and_missing_input(tmp_path: Path) -> None:
    table = _wide_csv(tmp_path / "t.csv")
    with pytest.raises(TableError, match="reference dataset 'imagenet' is not in the table"):
        read_table(table).to_result_table("imagenet")
    with pytest.raises(TableError, match="no such file or folder"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TableError, match="expected timm results files"):
        read_table(tmp_path / "empty")


def test_run_a_suite_without_pytest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fabricate import tiny_suite

    suite = tiny_suite(tmp_path)
    code = main(
        [
            "run",
            "--suite",
            str(suite),
            "--data-root",
            str(tmp_path / "data"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
            str(tmp_path / "run.json"),
            "--color",
            "no",
        ]
    )
    assert code == 0
    assert "SSL lottery run of suite tiny" in capsys.readouterr().out
    analysis = json.loads((tmp_path / "run.json").read_text())["analysis"]
    assert set(analysis["accuracy"]) == {"alpha", "beta"}
    assert set(analysis["aggregates"]) == {"alpha", "beta"}


def test_analyze_shows_what_the_gate_can_see(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_ssllottery.gate.sensitivity import cell_detectable_drop
    from pytest_ssllottery.suite.spec import GateSpec

    path = tmp_path / "long.csv"
    rows = ["method,dataset,accuracy,n"] + [
        f"{m},{d},{v},{50_000 if d == 'val' else 2_000}" for m, per in METHODS.items() for d, v in per.items()
    ]
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out.json"
    args = ["analyze", str(path), "--json", str(out), "--color", "no", "--gate", "significant", "--margin", "1.5"]
    assert main([*args, "--power-drop", "2"]) == 0
    text = capsys.readouterr().out
    assert "Smallest drop (points) the gate fails 80% of the time (significant gate: drop > margin 1.5" in text
    assert "A 2-point drop in one cell is caught with probability: val 100% (n=50,000)" in text
    report = json.loads(out.read_text())
    gate = GateSpec(margin=1.5, mode="significant", alpha=0.05)
    family = len(METHODS) * 6
    assert report["gate"]["mode"] == "significant"
    assert report["detectable_drop"]["moco::sketch"] == pytest.approx(cell_detectable_drop(20.0, 2_000, gate, family))
    assert report["detectable_drop"]["moco::val"] == 1.5  # 50,000 images: the margin is the limit
    assert report["power_at_drop"]["drop"] == 2.0
    assert main([*args, "--power-drop", "0"]) == 2
    assert "--power-drop 0" in capsys.readouterr().err
