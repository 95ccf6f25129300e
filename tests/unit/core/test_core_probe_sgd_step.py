"""The fused SGD step computes what autograd and ``torch.optim.SGD`` compute, for every optimiser the suites use."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pytest_ssllottery.compute.probe_sgd import LARS_TRUST, ResidentFeatures, SgdState, fit_sgd, lr_at, sgd_step
from pytest_ssllottery.suite.spec import ProbeSpec

SPEC = ProbeSpec(optimizer="sgd", epochs=3, lr=0.2, batch_size=32, weight_decay=1e-3, momentum=0.9, seed=5)
VARIANTS = {
    "sgd": SPEC,
    "nesterov": replace(SPEC, nesterov=True),
    "no-momentum": replace(SPEC, momentum=0.0),
    "no-weight-decay": replace(SPEC, weight_decay=0.0),
    "lars": replace(SPEC, optimizer="lars", lr=2.0, weight_decay=1e-6),
}


def _reference_steps(weight: torch.Tensor, batches: list[tuple[torch.Tensor, torch.Tensor]], spec: ProbeSpec):
    """Autograd, torch.optim.SGD and (for LARS) LARC's trust ratio, as the probe ran before the fused step."""
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.zero_()
    lars = spec.optimizer == "lars"
    optimizer = torch.optim.SGD(
        layer.parameters(),
        lr=spec.lr,
        momentum=spec.momentum,
        nesterov=spec.nesterov,
        weight_decay=0.0 if lars else spec.weight_decay,
    )
    for x, y in batches:
        optimizer.zero_grad()
        F.cross_entropy(layer(x), y).backward()
        if lars:
            with torch.no_grad():
                for parameter in layer.parameters():
                    p_norm, g_norm = parameter.norm(), parameter.grad.norm()
                    if p_norm > 0 and g_norm > 0:
                        ratio = LARS_TRUST * p_norm / (g_norm + spec.weight_decay * p_norm + 1e-8)
                        parameter.grad.add_(parameter, alpha=spec.weight_decay).mul_(ratio)
        optimizer.step()
    return layer.weight.detach(), layer.bias.detach()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_fused_steps_equal_autograd_and_torch_sgd(variant: str) -> None:
    spec = VARIANTS[variant]
    generator = torch.Generator().manual_seed(0)
    batches = [
        (torch.randn(32, 12, generator=generator), torch.randint(0, 5, (32,), generator=generator)) for _ in range(6)
    ]
    state = SgdState.initial(12, 5, torch.Generator().manual_seed(1), torch.device("cpu"))
    state.lr.fill_(spec.lr)
    start = state.weight.clone()
    for x, y in batches:
        sgd_step(state, x, y, spec)
    weight, bias = _reference_steps(start, batches, spec)
    assert not torch.equal(state.weight, start)
    torch.testing.assert_close(state.weight, weight, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state.bias, bias, rtol=1e-5, atol=1e-6)


def test_a_replayed_full_batch_step_reads_its_index_buffer_at_every_call() -> None:
    """The CUDA-graph discipline (static index buffer, lr tensor) on the CPU: same numbers as direct steps."""
    rng = np.random.default_rng(2)
    features = rng.normal(size=(100, 8)).astype(np.float32)
    targets = torch.from_numpy(rng.integers(0, 3, 100))
    resident = ResidentFeatures(features, "standardize", features.mean(0), 1 / features.std(0), "cpu")
    spec = replace(SPEC, batch_size=32, epochs=4)  # 3 full batches and one of 4 rows per epoch
    weight, bias = fit_sgd(resident, targets, 3, spec)
    generator = torch.Generator().manual_seed(spec.seed)
    state = SgdState.initial(8, 3, generator, torch.device("cpu"))
    for epoch in range(spec.epochs):
        state.lr.fill_(lr_at(spec, epoch))
        order = torch.randperm(100, generator=generator)
        for start in range(0, 100, spec.batch_size):
            rows = order[start : start + spec.batch_size]
            sgd_step(state, resident.batch(rows), targets[rows], spec)
    torch.testing.assert_close(weight, state.weight, rtol=0, atol=0)
    torch.testing.assert_close(bias, state.bias, rtol=0, atol=0)
