"""The Bayesian-optimization step: Sobol start points, and the next q candidates from a GP + qLogEI.

Written to avoid the original code's pitfalls: inputs are normalized by botorch's `Normalize` (with
the known bounds, not the data's range), outputs standardized by `Standardize` (which keeps a unit
scale when all scores tie, so no NaN), Sobol points are scaled to the same [-1, 1] box the
acquisition is optimized over, every round fits on all data so far, and the fit uses
`fit_gpytorch_mll` (`fit_gpytorch_model` is gone since botorch 0.11).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from botorch.acquisition.logei import qLogExpectedImprovement
from botorch.exceptions.warnings import InputDataWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms.input import Normalize
from botorch.models.transforms.outcome import Standardize
from botorch.optim import optimize_acqf
from botorch.utils.sampling import draw_sobol_samples
from gpytorch.mlls import ExactMarginalLogLikelihood

DTYPE = torch.float64  # botorch's GP fitting is numerically fragile in float32


def box(dim: int, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
    """The search box as botorch wants it: a 2 x dim tensor of lower and upper bounds."""
    return torch.tensor([[low] * dim, [high] * dim], dtype=DTYPE)


def sobol_points(n: int, dim: int, seed: int) -> torch.Tensor:
    """n scrambled Sobol points spread over [-1, 1]^dim (n x dim)."""
    return draw_sobol_samples(bounds=box(dim), n=n, q=1, seed=seed).squeeze(1)


def fit_gp(x: torch.Tensor, y: torch.Tensor) -> SingleTaskGP:
    """A GP on (x in [-1, 1]^d, y): inputs mapped to the unit cube, outputs standardized.

    Accuracies on a small dev set tie often (all equal early on); `Standardize` then keeps a unit
    scale instead of dividing by zero, and botorch's warning about it is silenced as expected.
    """
    dim = x.shape[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputDataWarning)
        model = SingleTaskGP(
            x.to(DTYPE),
            y.to(DTYPE).reshape(-1, 1),
            input_transform=Normalize(d=dim, bounds=box(dim)),
            outcome_transform=Standardize(m=1),
        )
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    return model


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one torch thread, restoring the caller's setting after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def propose(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    q: int,
    num_restarts: int = 10,
    raw_samples: int = 256,
    maxiter: int = 200,
    seed: int = 0,
) -> torch.Tensor:
    """The next q points (q x d) to evaluate, maximizing qLogEI over [-1, 1]^d given all (x, y).

    Runs on one CPU thread: the GP holds a few dozen points, so intra-op parallelism only adds
    thread wake-ups (10x slower on a busy 2-core machine). `maxiter` caps L-BFGS iterations per
    restart (botorch's default is 200; fewer is much faster, for tests). Seeded and run on a forked
    RNG: the same data and seed give the same proposal, and the caller's global RNG is left alone.
    """
    with torch.random.fork_rng(), one_thread():
        torch.manual_seed(seed)
        model = fit_gp(x, y)
        acquisition = qLogExpectedImprovement(model, best_f=y.max().to(DTYPE))
        candidates, _ = optimize_acqf(
            acquisition,
            bounds=box(x.shape[-1]),
            q=q,
            num_restarts=num_restarts,
            raw_samples=raw_samples,
            options={"maxiter": maxiter},
        )
    return candidates.detach()
