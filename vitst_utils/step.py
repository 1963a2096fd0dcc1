"""One training step, in one place: forward, losses, backward, the generator's and the
discriminator's updates. The step owns the frozen VGG19 the losses compare in (`loss_net`).
The loop (`train.py`) and the benchmark (`benchmark.py`) both call `Trainer.step`, so the
benchmark times exactly what training runs.

One `torch.amp.GradScaler` serves both optimizers (PyTorch's recipe for several models:
`scale`/`step` per optimizer, one `update`). Under DDP the generator and the discriminator are
wrapped separately; the generator's adversarial term goes through the bare discriminator with
its weights frozen, so only the discriminator's own step syncs its gradients.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import distributed, losses
from .config import TrainConfig
from .function import (
    diff_augment,
    edge_smooth,
    gaussian_blur,
    normalize,
    rgb_to_gray,
    to_pixels,
)
from .model import ViTStyleTransfer, build_discriminator

log = logging.getLogger(__name__)


class WarmupCosine:
    """The LR factor at a step: linear warm-up from 0, then a cosine down to `min_ratio`
    (or constant 1). A callable object, so `LambdaLR.state_dict()` keeps it as plain data."""

    def __init__(self, schedule: str, warmup: int, total: int, min_ratio: float = 0.0):
        self.schedule, self.warmup, self.total, self.min_ratio = schedule, warmup, total, min_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.schedule != "cosine":
            return 1.0
        t = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * t))


@dataclass
class StepResult:
    """What one step did: unweighted loss terms plus `rec` and `total` (`losses.weighted_total`)
    and (adversarial) `d_loss`, detached; `skipped` when a loss was not finite on some rank;
    `stop` when some rank asked; `balance`: each weighted term's share of the generator's
    gradient at the decoder's last layer, on the steps where it is measured (`balance_every`),
    else None; `adv_weight`: the adversarial term's effective weight (adaptive or
    `lambda_adv`), None without one."""

    losses: dict[str, torch.Tensor]
    skipped: bool
    stop: bool
    balance: dict[str, float] | None = None
    adv_weight: float | None = None


@dataclass(kw_only=True)
class Trainer:
    """Everything a step touches: the bare networks, their wrapped (DP/DDP) forms, the frozen
    VGG19 of the losses, the optimizers, their LR schedulers and the one GradScaler."""

    cfg: TrainConfig
    model: ViTStyleTransfer
    net: nn.Module
    loss_net: nn.Module
    disc: nn.Module | None
    disc_net: nn.Module | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer | None
    sched_g: torch.optim.lr_scheduler.LambdaLR
    sched_d: torch.optim.lr_scheduler.LambdaLR | None
    scaler: torch.amp.GradScaler
    device: torch.device
    amp: bool

    # --- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The training state beside the generator's weights, as checkpoint entries."""
        state: dict[str, Any] = {
            "optimizer": self.opt_g.state_dict(),
            "scheduler": self.sched_g.state_dict(),
            "scaler": self.scaler.state_dict(),
        }
        if self.disc is not None:
            state["discriminator"] = self.disc.state_dict()
            state["optimizer_d"] = self.opt_d.state_dict()
            state["scheduler_d"] = self.sched_d.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any], step: int) -> None:
        """Restore the optimizers, scaler and discriminator; the LR schedules are set to
        `step` (the start of the resumed epoch), so a redone partial epoch cannot overshoot."""
        self.opt_g.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        if self.disc is not None:
            if "discriminator" not in state:
                raise KeyError("the checkpoint has no discriminator, but this config trains one")
            self.disc.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["optimizer_d"])
        for sched in (self.sched_g, self.sched_d):
            if sched is not None:
                sched.last_epoch = step - 1
        self._step_schedules()

    def _step_schedules(self) -> None:
        """Both LR schedules follow the global step, also while the discriminator waits for
        its start epoch (torch then warns that its scheduler stepped before its optimizer)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Detected call of `lr_scheduler")
            for sched in (self.sched_g, self.sched_d):
                if sched is not None:
                    sched.step()

    # --- the step ---------------------------------------------------------------------------
    def step(
        self,
        content: torch.Tensor,
        style: torch.Tensor,
        adversarial: bool = True,
        stop: bool = False,
    ) -> StepResult:
        """One update of the generator (and, when `adversarial` and the config has an
        adversary, of the discriminator). Every rank learns in one collective whether any
        loss was non-finite (then nobody updates) and whether any rank asked to `stop`."""
        cfg = self.cfg
        adversarial = adversarial and self.disc is not None
        identity = losses.wants_identity(cfg)
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            out = self.net(content, style, identity=identity, batched=cfg.batched_passes)
            generated = out[0] if identity else out
            terms = losses.perceptual_losses(
                self.loss_net, cfg, generated, content, style, out[1:] if identity else None
            )
            if adversarial:
                self.disc.requires_grad_(False)  # G's term must not touch D's gradients
                d_for_g = self.disc_net if isinstance(self.disc_net, nn.DataParallel) else self.disc
                seen = diff_augment(generated, cfg.d_augment)
                terms["adv"] = losses.generator_adv_loss(cfg.gan_loss, d_for_g(seen))
                self.disc.requires_grad_(True)
                d_loss = self._discriminator_loss(style, generated.detach())
        w = losses.weighted_total(cfg, terms)
        if adversarial and cfg.adv_adaptive:
            lam = self._adaptive_weight(w.rec, terms["adv"])
            w = losses.weighted_total(cfg, terms, cfg.lambda_adv * lam)
        total = w.total
        balance = self._balance(w.terms) if self._balance_due() else None
        check = [total.detach()] + ([d_loss.detach()] if adversarial else [])
        flags = torch.stack(
            [
                (~torch.isfinite(torch.stack(check))).any().float(),
                torch.tensor(float(stop), device=total.device),
            ]
        )
        flags = distributed.any_rank(flags)  # one all_reduce(MAX): every rank decides alike
        skipped = bool(flags[0] > 0)
        if not skipped:
            self.opt_g.zero_grad(set_to_none=True)
            self.scaler.scale(total).backward()
            self.scaler.step(self.opt_g)
            if adversarial:
                self.opt_d.zero_grad(set_to_none=True)
                self.scaler.scale(d_loss).backward()
                self.scaler.step(self.opt_d)
            self.scaler.update()
            self._step_schedules()
        result = {k: v.detach().float() for k, v in terms.items()}
        result["rec"], result["total"] = w.rec.detach().float(), total.detach().float()
        if adversarial:
            result["d_loss"] = d_loss.detach().float()
        adv_weight = float(w.weights["adv"]) if adversarial else None
        return StepResult(result, skipped, bool(flags[1] > 0), balance, adv_weight)

    # --- balance ----------------------------------------------------------------------------
    def _balance_due(self) -> bool:
        """The first 3 steps of a run, then every `balance_every` steps."""
        every, step = self.cfg.balance_every, self.sched_g.last_epoch
        return every > 0 and (step < 3 or step % every == 0)

    def _balance(self, weighted: dict[str, torch.Tensor]) -> dict[str, float]:
        """Each weighted term's share of the gradient norm at the decoder's last layer, the
        same on every rank (averaged over ranks); the shares sum to 1."""
        norms = losses.grad_norms(
            {k: self.scaler.scale(v) for k, v in weighted.items()}, self.model.last_layer
        )
        shares = losses.shares(norms)
        vec = distributed.mean(torch.tensor(list(shares.values()), device=self.device))
        return dict(zip(shares, vec.tolist(), strict=True))

    def _adaptive_weight(self, rec: torch.Tensor, adv: torch.Tensor) -> torch.Tensor:
        """VQGAN's adaptive weight of the adversarial term (`losses.adaptive_weight`), on the
        scaled losses (the ratio does not change; fp16 gradients do not underflow), averaged
        over ranks so all of them take the same step; 1.0 where a gradient is not finite."""
        scale = self.scaler.scale
        lam = losses.adaptive_weight(
            scale(rec), scale(adv), self.model.last_layer, self.cfg.adv_weight_max
        )
        lam = distributed.mean(lam)
        return torch.where(torch.isfinite(lam), lam, torch.ones_like(lam))

    def _discriminator_loss(self, style: torch.Tensor, generated: torch.Tensor) -> torch.Tensor:
        """Real anime against the generated images, and (weight > 0) the edge-smoothed, the
        blurred and the grayscale anime, in one batched forward (D has no batch statistics)."""
        cfg = self.cfg
        with torch.no_grad():
            pixels = to_pixels(style).clamp(0, 1)
            negatives = [(generated, cfg.d_fake_weight)]
            if cfg.d_smooth_weight > 0:
                negatives.append((normalize(edge_smooth(pixels)), cfg.d_smooth_weight))
            if cfg.d_blur_weight > 0:  # sigma 0.5-2 px at 64 px (scaled), spread over steps
                u = (self.sched_g.last_epoch * 0.6180339887) % 1.0  # golden-ratio sequence
                sigma = (0.5 + 1.5 * u) * cfg.image_size / 64
                negatives.append((normalize(gaussian_blur(pixels, sigma)), cfg.d_blur_weight))
            if cfg.d_gray_weight > 0:
                negatives.append((normalize(rgb_to_gray(pixels)), cfg.d_gray_weight))
        batch = diff_augment(torch.cat([style] + [x for x, _ in negatives]), cfg.d_augment)
        logits = self.disc_net(batch).chunk(1 + len(negatives))
        return losses.discriminator_loss(
            cfg.gan_loss,
            (logits[0], cfg.d_real_weight),
            [(lg, w) for lg, (_, w) in zip(logits[1:], negatives, strict=True)],
        )


def _optimizer(cls, params, lr: float, betas, device: torch.device, fused: bool, **kw):
    fused = fused and device.type == "cuda"
    return cls(params, lr=lr, betas=betas, fused=fused or None, **kw)


def _try_compile(module: nn.Module, example: torch.Tensor, name: str) -> None:
    """torch.compile in place (state-dict keys unchanged); on any failure, eager with a warning
    (the T4 is sm75: recent Triton releases may not support it)."""
    module.compile()
    try:
        with torch.no_grad():
            module(example)
    except Exception as e:  # the compiler stack raises many types
        module._compiled_call_impl = None  # back to eager
        log.warning("torch.compile of the %s failed, running eager: %s", name, e)


def build_trainer(
    cfg: TrainConfig,
    model: ViTStyleTransfer,
    device: torch.device,
    strategy: str = "single",
    amp: bool = False,
    total_steps: int = 1,
    loss_net: nn.Module | None = None,
) -> Trainer:
    """Wrap, place and pair with optimizers: `model` on `device` already; strategy single, dp
    (the seed's DataParallel) or ddp (inside an initialised process group); `loss_net`: the
    frozen VGG19 (default: `losses.loss_net(cfg)`)."""
    cuda = device.type == "cuda"
    disc = build_discriminator(cfg)
    if disc is not None:
        disc = disc.to(device)
    loss_net = (loss_net if loss_net is not None else losses.loss_net(cfg)).to(device)
    if cuda and cfg.channels_last:
        for m in (model.decoder, model.fuse, loss_net, disc):
            if m is not None:
                m.to(memory_format=torch.channels_last)
    if cfg.compile:
        grid = cfg.image_size // model.patch_size
        example = torch.zeros(1, model.vit_encoder.embed_dim, grid, grid, device=device)
        _try_compile(model.decoder, example, "decoder")

    def wrap(m: nn.Module) -> nn.Module:
        if strategy == "dp":
            return nn.DataParallel(m)
        if strategy == "ddp":
            return nn.parallel.DistributedDataParallel(m, device_ids=[device] if cuda else None)
        return m

    trainable = [p for p in model.parameters() if p.requires_grad]
    groups: list[dict[str, Any]] = [{"params": trainable}]  # one group, as the seed
    if cfg.encoder_lr_scale != 1:
        encoder = {id(p) for p in model.vit_encoder.parameters()}
        groups = [
            {"params": [p for p in trainable if id(p) not in encoder]},
            {
                "params": [p for p in trainable if id(p) in encoder],
                "lr": cfg.lr * cfg.encoder_lr_scale,
            },
        ]
    fused = cfg.fused_adam
    opt_g = _optimizer(
        torch.optim.AdamW, groups, cfg.lr, cfg.betas, device, fused, weight_decay=cfg.weight_decay
    )
    factor = WarmupCosine(cfg.lr_schedule, cfg.warmup_steps, total_steps, cfg.min_lr_ratio)
    sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, factor)
    opt_d = sched_d = None
    if disc is not None:
        opt_d = _optimizer(
            torch.optim.Adam, disc.parameters(), cfg.d_lr, cfg.d_betas, device, fused
        )
        sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, factor)
    return Trainer(
        cfg=cfg,
        model=model,
        net=wrap(model),
        loss_net=loss_net,
        disc=disc,
        disc_net=wrap(disc) if disc is not None else None,
        opt_g=opt_g,
        opt_d=opt_d,
        sched_g=sched_g,
        sched_d=sched_d,
        scaler=torch.amp.GradScaler(device.type, enabled=amp),
        device=device,
        amp=amp,
    )
