"""The bundled ImageNet suites by name, without data: one clear usage error, the same for the ViT suite."""

from __future__ import annotations

import pytest

# Imported before the in-process runs, which restore sys.modules afterwards (see the root conftest).
from pytest_ssllottery.suite.parse import load_suite
from pytest_ssllottery.suite.resources import resolve_suite

SUITES = ("imagenet-variants", "imagenet-variants-vit")


@pytest.mark.parametrize("name", SUITES)
def test_no_data_root_is_one_usage_error(pytester: pytest.Pytester, name: str) -> None:
    result = pytester.runpytest("--ssl-suite", name, "--ssl-device", "cpu", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*suite '{name}' reads its datasets under a data root, and none was given: pass --ssl-data-root*"]
    )
    assert "FAILED" not in result.stdout.str()


@pytest.mark.parametrize("name", SUITES)
def test_an_empty_data_root_lists_every_missing_input(pytester: pytest.Pytester, name: str) -> None:
    (pytester.path / "data").mkdir()
    result = pytester.runpytest(
        "--ssl-suite", name, "--ssl-data-root", "data", "--ssl-device", "cpu", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    suite = load_suite(resolve_suite(name))
    first = suite.primary_methods[0]
    result.stderr.fnmatch_lines(
        [
            "*input(s) of the selected items are missing; no item was run:",
            "*dataset 'val': nothing at *data/imagenet/val (see docs/imagenet.md for the layout)",
            f"*method '{first.name}': checkpoint *data/checkpoints/{first.checkpoint} does not exist; "
            f"download it from {first.source_url}",
        ]
    )
    assert "FAILED" not in result.stdout.str()


def test_the_vit_suite_collects_linear_and_knn_items(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--ssl-suite", "imagenet-variants-vit", "--collect-only", "-q", "-p", "no:cacheprovider"
    )
    suite = load_suite(resolve_suite("imagenet-variants-vit"))
    methods, datasets = len(suite.methods), len(suite.eval_datasets)
    assert methods == 16  # eight ViTs, each also as <method>@knn
    result.stdout.fnmatch_lines(
        [
            "imagenet-variants-vit::dino_vits16::val",
            "imagenet-variants-vit::dino_vits16@knn::val",
            f"{methods * (datasets + 1) + 1} tests collected*",
        ]
    )
