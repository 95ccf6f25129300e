"""Each SSL loss and update rule against an independent small computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pytest_ssllottery.shapes.zoo.augment import make_view
from pytest_ssllottery.shapes.zoo.objectives.barlow_twins import barlow_twins_loss, cross_correlation, off_diagonal
from pytest_ssllottery.shapes.zoo.objectives.base import Step
from pytest_ssllottery.shapes.zoo.objectives.byol import regression_loss
from pytest_ssllottery.shapes.zoo.objectives.dino import clip_gradients, dino_loss, teacher_temperature, update_center
from pytest_ssllottery.shapes.zoo.objectives.moco import MocoConfig, enqueue, info_nce
from pytest_ssllottery.shapes.zoo.objectives.simclr import nt_xent
from pytest_ssllottery.shapes.zoo.objectives.simsiam import negative_cosine
from pytest_ssllottery.shapes.zoo.objectives.swav import sinkhorn, swapped_prediction
from pytest_ssllottery.shapes.zoo.objectives.vicreg import covariance_term, variance_term, vicreg_loss
from pytest_ssllottery.shapes.zoo.optim import LARS, OptimConfig, cosine_lr, ema_update, momentum_to_one


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_nt_xent_matches_brute_force_loop() -> None:
    z1, z2, tau = _rand(5, 7), _rand(5, 7, seed=1), 0.3
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z.shape[0]
    losses = []
    for i in range(n):
        positive = (i + 5) % n
        denominator = sum(math.exp(float(z[i] @ z[k]) / tau) for k in range(n) if k != i)
        losses.append(-math.log(math.exp(float(z[i] @ z[positive]) / tau) / denominator))
    assert nt_xent(z1, z2, tau).item() == pytest.approx(float(np.mean(losses)), rel=1e-10)


def test_info_nce_matches_brute_force() -> None:
    q, k = F.normalize(_rand(4, 3), dim=1), F.normalize(_rand(4, 3, seed=1), dim=1)
    queue = F.normalize(_rand(3, 6, seed=2), dim=0)
    expected = []
    for i in range(4):
        logits = [float(q[i] @ k[i])] + [float(q[i] @ queue[:, j]) for j in range(6)]
        scaled = np.array(logits) / 0.2
        expected.append(-(scaled[0] - np.log(np.exp(scaled).sum())))
    assert info_nce(q, k, queue, 0.2).item() == pytest.approx(float(np.mean(expected)), rel=1e-10)


def test_enqueue_replaces_oldest_and_wraps() -> None:
    queue, ptr = torch.zeros(2, 6), torch.zeros(1, dtype=torch.long)
    for step in range(4):
        enqueue(queue, ptr, torch.full((2, 2), float(step + 1)))
    assert queue[0].tolist() == [4.0, 4.0, 2.0, 2.0, 3.0, 3.0]
    assert int(ptr[0]) == 2


def test_enqueue_rejects_batch_not_dividing_queue() -> None:
    with pytest.raises(ValueError, match="multiple of the batch size"):
        enqueue(torch.zeros(2, 5), torch.zeros(1, dtype=torch.long), torch.ones(2, 2))


def test_ema_update_is_convex_combination_of_parameters_only() -> None:
    online, target = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    with torch.no_grad():
        online.weight.fill_(2.0)
        target.weight.fill_(1.0)
        online.running_mean.fill_(5.0)
    ema_update(target, online, 0.9)
    assert torch.allclose(target.weight, torch.full((3,), 1.1))
    assert torch.equal(target.running_mean, torch.zeros(3))  # buffers stay the target's own


def test_momentum_to_one_runs_from_base_to_one() -> None:
    assert momentum_to_one(0.99, 0, 100) == pytest.approx(0.99)
    assert momentum_to_one(0.99, 50, 100) == pytest.approx(0.995)
    assert momentum_to_one(0.99, 100, 100) == pytest.approx(1.0)


def test_byol_regression_loss_is_normalised_mse() -> None:
    p, z = _rand(4, 5), _rand(4, 5, seed=1)
    expected = (F.normalize(p, dim=1) - F.normalize(z, dim=1)).pow(2).sum(dim=1)
    assert torch.allclose(regression_loss(p, z), expected)


def test_byol_and_simsiam_stop_gradient_on_target() -> None:
    p, z = _rand(3, 4).requires_grad_(), _rand(3, 4, seed=1).requires_grad_()
    (regression_loss(p, z).sum() + negative_cosine(p, z)).backward()
    assert z.grad is None
    assert p.grad is not None


def test_simsiam_negative_cosine_bounds() -> None:
    x = _rand(6, 4)
    assert negative_cosine(x, x).item() == pytest.approx(-1.0)
    assert negative_cosine(x, -x).item() == pytest.approx(1.0)


def test_sinkhorn_marginals() -> None:
    scores = F.normalize(_rand(8, 5), dim=1) @ F.normalize(_rand(4, 5, seed=1), dim=1).t()
    q = sinkhorn(scores, epsilon=0.05, iterations=3)
    assert torch.allclose(q.sum(dim=1), torch.ones(8, dtype=q.dtype))  # each sample's codes sum to 1
    converged = sinkhorn(scores, epsilon=0.5, iterations=200)
    assert torch.allclose(converged.sum(dim=0), torch.full((4,), 8 / 4, dtype=q.dtype), atol=1e-6)


def test_swapped_prediction_matches_loop() -> None:
    batch, crops, k = 3, 4, 5
    output = _rand(batch * crops, k)
    codes = [F.softmax(_rand(batch, k, seed=s), dim=1) for s in (1, 2)]
    total = 0.0
    for q, crop in zip(codes, (0, 1), strict=True):
        sub = 0.0
        for v in range(crops):
            if v != crop:
                logp = F.log_softmax(output[v * batch : (v + 1) * batch] / 0.1, dim=1)
                sub += float(-(q * logp).sum(dim=1).mean())
        total += sub / (crops - 1)
    assert swapped_prediction(output, codes, (0, 1), 0.1).item() == pytest.approx(total / 2, rel=1e-10)


def test_barlow_identity_case_has_zero_loss() -> None:
    # Orthogonal columns with zero mean and unit variance: the cross-correlation of z with itself is I.
    z = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    c = cross_correlation(z, z, nn.Identity())
    assert torch.allclose(c, torch.eye(2, dtype=torch.float64))
    assert barlow_twins_loss(c, 0.0051).item() == pytest.approx(0.0)


def test_barlow_loss_weights_off_diagonal_by_lambda() -> None:
    c = torch.tensor([[0.5, 0.2], [0.1, 1.0]])
    assert barlow_twins_loss(c, 0.5).item() == pytest.approx(0.25 + 0.5 * (0.04 + 0.01))


def test_off_diagonal() -> None:
    m = torch.arange(9.0).view(3, 3)
    assert off_diagonal(m).tolist() == [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]


def test_vicreg_variance_term_on_constant_input() -> None:
    constant = torch.ones(8, 4)
    assert variance_term(constant).item() == pytest.approx(1 - math.sqrt(1e-4), rel=1e-5)
    spread = torch.tensor([[3.0], [-3.0], [3.0], [-3.0]])
    assert variance_term(spread).item() == 0.0  # std above 1: no penalty


def test_vicreg_covariance_term_matches_numpy() -> None:
    x = _rand(10, 4)
    cov = np.cov(x.numpy(), rowvar=False)
    expected = (cov**2).sum() - (np.diag(cov) ** 2).sum()
    assert covariance_term(x).item() == pytest.approx(expected / 4, rel=1e-10)


def test_vicreg_loss_weights() -> None:
    x, y = _rand(6, 3), _rand(6, 3, seed=1)
    expected = (
        25 * F.mse_loss(x, y)
        + 25 * (variance_term(x) + variance_term(y)) / 2
        + (covariance_term(x) + covariance_term(y))
    )
    assert vicreg_loss(x, y, 25.0, 25.0, 1.0).item() == pytest.approx(expected.item())


def test_dino_center_update() -> None:
    center = torch.ones(1, 3)
    teacher_out = torch.tensor([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    update_center(center, teacher_out, 0.9)
    assert torch.allclose(center, 0.9 + 0.1 * torch.tensor([[2.0, 3.0, 4.0]]))


def test_dino_loss_matches_loop_and_centering_matters() -> None:
    batch, crops, k = 2, 4, 5
    student, teacher = _rand(batch * crops, k), _rand(2 * batch, k, seed=1)
    center = _rand(1, k, seed=2)
    terms = []
    for iq in range(2):
        q = F.softmax((teacher[iq * batch : (iq + 1) * batch] - center) / 0.04, dim=1)
        for v in range(crops):
            if v != iq:
                logp = F.log_softmax(student[v * batch : (v + 1) * batch] / 0.1, dim=1)
                terms.append(float(-(q * logp).sum(dim=1).mean()))
    assert dino_loss(student, teacher, center, 0.1, 0.04).item() == pytest.approx(float(np.mean(terms)), rel=1e-10)
    assert dino_loss(student, teacher, torch.zeros(1, k), 0.1, 0.04).item() != pytest.approx(float(np.mean(terms)))


def test_teacher_temperature_warmup() -> None:
    temps = [teacher_temperature(p, 0.04, 0.07, 0.3) for p in (0.0, 0.1, 0.2, 0.3, 0.5, 0.99)]
    assert temps == pytest.approx([0.04, 0.05, 0.06, 0.07, 0.07, 0.07])


def test_clip_gradients_per_parameter() -> None:
    layer = nn.Linear(2, 2)
    layer.weight.grad = torch.full((2, 2), 3.0)  # norm 6
    layer.bias.grad = torch.tensor([0.3, 0.4])  # norm 0.5
    clip_gradients(layer, 3.0)
    assert layer.weight.grad.norm().item() == pytest.approx(3.0, rel=1e-5)
    assert layer.bias.grad.tolist() == pytest.approx([0.3, 0.4])


def test_lars_trust_ratio_and_1d_exclusion() -> None:
    weight = nn.Parameter(torch.full((2, 2), 2.0))  # norm 4
    bias = nn.Parameter(torch.ones(2))
    weight.grad, bias.grad = torch.full((2, 2), 0.5), torch.full((2,), 0.5)  # weight grad norm 1
    LARS([weight, bias], lr=1.0, weight_decay=0.0, momentum=0.0, eta=0.1).step()
    assert torch.allclose(weight, torch.full((2, 2), 2.0 - 0.1 * 4 / 1 * 0.5))
    assert torch.allclose(bias, torch.full((2,), 0.5))


def test_cosine_lr_warmup_then_decay() -> None:
    config = OptimConfig(lr=1.0, final_lr=0.0, warmup=1 / 3)
    assert cosine_lr(config, 0, 30) == pytest.approx(0.1)
    assert cosine_lr(config, 9, 30) == pytest.approx(1.0)
    assert cosine_lr(config, 10, 30) == pytest.approx(1.0)
    assert cosine_lr(config, 20, 30) == pytest.approx(0.5)


def test_symmetric_moco_sums_both_directions_and_enqueues_both_key_batches() -> None:
    torch.manual_seed(0)
    config = MocoConfig(queue_size=16, bn_groups=1, symmetric=True)
    moco = config.build().train()
    images = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(2)
    replay = torch.Generator().set_state(gen.get_state())
    queue_before = moco.queue.clone()

    loss = moco.loss(images, torch.zeros(4, dtype=torch.long), gen, Step(0, 10, 10))

    view_1, view_2 = make_view(images, config.view, replay), make_view(images, config.view, replay)
    with torch.no_grad():  # the key encoder is the query encoder's copy: one EMA step leaves it unchanged
        q1, q2 = (F.normalize(moco.encoder_q(view), dim=1) for view in (view_1, view_2))
        k1, k2 = (F.normalize(moco.encoder_k(view), dim=1) for view in (view_1, view_2))
    expected = info_nce(q1, k2, queue_before, 0.2) + info_nce(q2, k1, queue_before, 0.2)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert int(moco.queue_ptr[0]) == 8
    assert torch.allclose(moco.queue[:, :8].t(), torch.cat([k2, k1]), atol=1e-6)
    assert moco.collapse_loss(4) == pytest.approx(2 * math.log(17))
