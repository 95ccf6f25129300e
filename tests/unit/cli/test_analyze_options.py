"""`ssllottery analyze` says what it assumed, warns about gaps, and exposes column, fit and floor choices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_ssllottery.cli import main

ROWS = {
    # a near-chance model (val 0.9) and a model with an exact zero on adversarial
    "big": {"val": 84.0, "v2": 74.0, "rendition": 60.0, "val-on-r-classes": 90.0, "adversarial": 40.0},
    "mid": {"val": 78.0, "v2": 67.0, "rendition": 45.0, "val-on-r-classes": 85.0, "adversarial": 12.0},
    "small": {"val": 70.0, "v2": 58.0, "rendition": 35.0, "val-on-r-classes": 80.0, "adversarial": 0.0},
    "tiny": {"val": 62.0, "v2": 50.0, "rendition": 28.0, "val-on-r-classes": 72.0, "adversarial": 1.0},
    "noise": {"val": 0.9, "v2": 0.8, "rendition": 9.0, "val-on-r-classes": 1.0, "adversarial": 0.5},
}


def _csv(path: Path, rows: dict[str, dict[str, float]] = ROWS, drop: tuple[str, str] | None = None) -> Path:
    columns = list(next(iter(rows.values())))
    lines = ["method," + ",".join(columns)]
    for method, values in rows.items():
        cells = ["" if drop == (method, c) else str(values[c]) for c in columns]
        lines.append(",".join([method, *cells]))
    path.write_text("\n".join(lines) + "\n")
    return path


def _analyze(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    out = tmp_path / "out.json"
    code = main(["analyze", *args, "--json", str(out), "--color", "no"])
    return code, (json.loads(out.read_text()) if out.exists() else {}), ""


def test_first_column_reference_is_announced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, _ = _analyze(tmp_path, str(_csv(tmp_path / "t.csv")))
    assert code == 0
    out = capsys.readouterr().out
    assert "reference: 'val', the table's first dataset column (the table names none); choose another with" in out
    assert any("first dataset column" in note for note in report["notes"])
    main(["analyze", str(tmp_path / "t.csv"), "--reference", "v2", "--color", "no"])
    assert "first dataset column" not in capsys.readouterr().out


def test_average_without_image_counts_is_labelled_equal_weight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, report, _ = _analyze(tmp_path, str(_csv(tmp_path / "t.csv")))
    out = capsys.readouterr().out
    assert report["analysis"]["aggregate_weighting"] == "equal (the table has no image counts)"
    assert "equal-weight mean" in out
    assert "weighted avg" not in out
    assert "weighted average: equal (the table has no image counts)" in out


def test_missing_csv_cells_are_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = _csv(tmp_path / "t.csv", drop=("mid", "rendition"))
    assert main(["analyze", str(table), "--color", "no"]) == 0
    assert "warning: mid: no value for rendition (left out of the aggregates)" in capsys.readouterr().out


def test_datasets_selects_columns(tmp_path: Path) -> None:
    code, report, _ = _analyze(tmp_path, str(_csv(tmp_path / "t.csv")), "--datasets", "val,v2")
    assert code == 0
    assert report["analysis"]["datasets"] == ["val", "v2"]
    assert set(report["analysis"]["accuracy"]["big"]) == {"val", "v2"}


def test_datasets_with_an_unknown_column_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(_csv(tmp_path / "t.csv")), "--datasets", "val,v3"]) == 2
    assert "--datasets names columns not in the table: ['v3']" in capsys.readouterr().err


def test_fit_against_another_column(tmp_path: Path) -> None:
    table = str(_csv(tmp_path / "t.csv"))
    _, default, _ = _analyze(tmp_path, table)
    _, chosen, _ = _analyze(tmp_path, table, "--fit-against", "rendition=val-on-r-classes")
    assert default["analysis"]["robustness_fit_against"]["rendition"] == "val"
    assert chosen["analysis"]["robustness_fit_against"]["rendition"] == "val-on-r-classes"
    assert chosen["analysis"]["robustness_fits"]["rendition"] != default["analysis"]["robustness_fits"]["rendition"]


def test_fit_range_restricts_the_fit_population(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = str(_csv(tmp_path / "t.csv"))
    _, everyone, _ = _analyze(tmp_path, table)
    _, restricted, _ = _analyze(tmp_path, table, "--fit-range", "50:")
    assert everyone["analysis"]["robustness_fits"]["v2"]["n"] == 5
    assert restricted["analysis"]["robustness_fits"]["v2"]["n"] == 4
    assert "noise" in restricted["analysis"]["effective_robustness"]["v2"]  # still scored against the fit
    assert main(["analyze", table, "--fit-range", "90:10"]) == 2
    assert "--fit-range '90:10': expected LOW:HIGH" in capsys.readouterr().err


def test_poor_fit_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scattered = {m: dict(v) for m, v in ROWS.items()}
    for method, value in zip(scattered, (10.0, 55.0, 3.0, 40.0, 9.0), strict=True):
        scattered[method]["adversarial"] = value
    assert main(["analyze", str(_csv(tmp_path / "t.csv", scattered)), "--color", "no"]) == 0
    assert "effective robustness on adversarial: the logit fit against val explains little" in capsys.readouterr().out


def test_floor_keeps_one_zero_from_zeroing_the_geometric_mean(tmp_path: Path) -> None:
    table = str(_csv(tmp_path / "t.csv"))
    _, plain, _ = _analyze(tmp_path, table)
    _, floored, _ = _analyze(tmp_path, table, "--floor", "0.5")
    assert plain["analysis"]["aggregates"]["small"]["geometric_mean"] == 0.0
    assert floored["analysis"]["aggregates"]["small"]["geometric_mean"] > 5.0
    assert floored["analysis"]["geometric_mean_floor"] == 0.5


def test_help_documents_the_input_formats(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    out = capsys.readouterr().out
    for text in ("CSV, long form", "CSV, wide form", "JSON", "results-imagenet.csv", "equal-weight"):
        assert text in out


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_ssllottery import __version__

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"ssllottery {__version__}"
