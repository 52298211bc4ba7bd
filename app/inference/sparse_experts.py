"""Run each token through only the routed experts its router chose.

transformers' `Llama4TextMoe` computes every routed expert for every token: the
fused bf16 `Llama4TextExperts` repeats each token once per expert (scaled by
the router score, zero for all but the chosen one) and runs two `bmm` over all
of them; the per-expert Linear modules of compressed-tensors FP8 checkpoints
(`SequentialLlama4TextExperts`) loop over all 128 expert MLPs. With Maverick's
top-1 routing that is 128 times the work, and every decoded token reads every
expert's weights.

`apply_sparse_experts` replaces the forward of each MoE module after loading
with one that gathers the tokens of each chosen expert, runs that expert's MLP
on them (their *input* scaled by the router score, as the stock code scales
it), and adds the result to the shared expert's output. The modelling files are
not forked: the router, shared expert and expert weights are the stock modules,
called as they are, so FP8 Linear modules kept in FP8 run their own kernels.
A module of any other shape keeps the stock path, with a logged warning, and so
does one whose sparse output on a few probe tokens differs from the stock
forward's (a transformers release that changed the MoE's arithmetic).

In the default mode each layer that passed then moves on, where it can, to
`app.inference.grouped_experts`: one grouped matmul per projection and no host
sync. That path checks itself too, against the per-expert dispatch on the same
probe tokens, and a layer that cannot be stacked or disagrees keeps the
per-expert dispatch, with the reason logged.

``MAVERICK_DESK_EXPERTS=loop`` keeps the per-expert dispatch for every layer;
``MAVERICK_DESK_EXPERTS=dense`` keeps transformers' own path.
"""

from __future__ import annotations

import logging
import types
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from app.checkpoints.experts_mode import DENSE_LABEL, EXPERTS_ENV, experts_mode
from app.inference.grouped_experts import (
    grouped_forward,
    plan_fused,
    plan_per_expert,
)

log = logging.getLogger(__name__)

# The classes whose forward this module knows: the stock MoE block, the fused
# bf16 experts and the per-expert list transformers builds for quantised ones.
MOE_CLASS = "Llama4TextMoe"
FUSED_CLASS = "Llama4TextExperts"
PER_EXPERT_CLASS = "SequentialLlama4TextExperts"
EXPERT_MLP_CLASS = "Llama4TextMLP"


@dataclass
class ExpertsReport:
    """Which MoE layers run sparse, which kept the stock path, and why."""

    mode: str
    moe_layers: int = 0
    sparse_layers: int = 0
    top_k: int = 0
    grouped_layers: int = 0
    layouts: list[str] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    kept_loop: list[str] = field(default_factory=list)  # why a layer is not grouped

    @property
    def label(self) -> str:
        """One line for Help > About and the logs."""
        if self.mode == "dense" or self.sparse_layers == 0:
            reason = "" if self.mode == "dense" else " (no MoE layer had the expected shape)"
            return DENSE_LABEL + reason
        layouts = ", ".join(sorted(set(self.layouts)))
        kept = self.moe_layers - self.sparse_layers
        tail = f"; {kept} kept dense" if kept else ""
        return (
            f"sparse top-{self.top_k} ({self.sparse_layers} of {self.moe_layers} MoE layers, "
            f"{layouts}{tail})"
        )


def _layout(moe: nn.Module) -> tuple[str | None, str]:
    """(layout, '') when the module is the shape this code expects, else a reason."""
    if type(moe).__name__ != MOE_CLASS:
        return None, f"{type(moe).__name__} is not {MOE_CLASS}"
    router = getattr(moe, "router", None)
    experts = getattr(moe, "experts", None)
    shared = getattr(moe, "shared_expert", None)
    num, hidden, top_k = (
        getattr(moe, name, None) for name in ("num_experts", "hidden_dim", "top_k")
    )
    if not (isinstance(num, int) and isinstance(hidden, int) and isinstance(top_k, int)):
        return None, "num_experts, hidden_dim or top_k missing"
    if not isinstance(router, nn.Linear) or router.out_features != num:
        return None, "the router is not a Linear onto the experts"
    if router.in_features != hidden or not isinstance(shared, nn.Module) or not 0 < top_k <= num:
        return None, "router width, shared expert or top_k unexpected"
    if type(experts).__name__ == FUSED_CLASS and isinstance(experts, nn.Module):
        return _fused_layout(experts, num, hidden)
    if type(experts).__name__ == PER_EXPERT_CLASS and isinstance(experts, nn.ModuleList):
        return _per_expert_layout(experts, num, hidden)
    return (
        None,
        f"experts are {type(experts).__name__}, neither {FUSED_CLASS} nor {PER_EXPERT_CLASS}",
    )


def _fused_layout(experts: nn.Module, num: int, hidden: int) -> tuple[str | None, str]:
    gate_up = getattr(experts, "gate_up_proj", None)
    down = getattr(experts, "down_proj", None)
    if not (isinstance(gate_up, torch.Tensor) and isinstance(down, torch.Tensor)):
        return None, "fused experts without gate_up_proj / down_proj tensors"
    if gate_up.is_meta or down.is_meta:
        return None, "fused expert weights are not materialised (meta / offloaded)"
    if gate_up.dim() != 3 or down.dim() != 3 or not callable(getattr(experts, "act_fn", None)):
        return None, "fused expert weights are not 3-D or have no activation"
    inter = down.shape[1]
    if tuple(gate_up.shape) != (num, hidden, 2 * inter) or tuple(down.shape) != (
        num,
        inter,
        hidden,
    ):
        return None, (
            f"fused expert shapes gate_up {tuple(gate_up.shape)}, down {tuple(down.shape)} "
            f"do not match [E={num}, H={hidden}, 2I] and [E, I, H]"
        )
    return "fused bf16", ""


def _per_expert_layout(experts: nn.ModuleList, num: int, hidden: int) -> tuple[str | None, str]:
    if len(experts) != num:
        return None, f"{len(experts)} expert modules for {num} experts"
    for index, mlp in enumerate(experts):
        if type(mlp).__name__ != EXPERT_MLP_CLASS:
            return None, f"expert {index} is {type(mlp).__name__}, not {EXPERT_MLP_CLASS}"
        for name, side in (("gate_proj", "in"), ("up_proj", "in"), ("down_proj", "out")):
            linear = getattr(mlp, name, None)
            if not isinstance(linear, nn.Module):
                return None, f"expert {index} has no {name}"
            width = getattr(linear, f"{side}_features", hidden)
            if width != hidden:
                return None, f"expert {index} {name}.{side}_features is {width}, hidden is {hidden}"
    return f"per-expert {type(experts[0].gate_proj).__name__}", ""


def _run_fused(experts: Any, index: int, tokens: torch.Tensor) -> torch.Tensor:
    """Expert `index` of a fused `Llama4TextExperts`, with the stock arithmetic."""
    gate, up = torch.matmul(tokens, experts.gate_up_proj[index]).chunk(2, dim=-1)
    return torch.matmul(up * experts.act_fn(gate), experts.down_proj[index])  # type: ignore[no-any-return]


def _run_per_expert(experts: Any, index: int, tokens: torch.Tensor) -> torch.Tensor:
    """Expert `index` of the per-expert list: its own Linear modules, whatever class they are."""
    return experts[index](tokens)  # type: ignore[no-any-return]


def _sparse_forward(self: Any, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`Llama4TextMoe.forward`, computing only the experts the router chose."""
    hidden_states = hidden_states.reshape(-1, self.hidden_dim)
    router_scores, router_logits = self.router(hidden_states)
    chosen = torch.topk(router_logits, self.top_k, dim=1).indices  # [T, k], as the router's
    weights = router_scores.gather(1, chosen)  # sigmoid of the chosen logits, stock dtype
    if chosen.numel() == 1:  # decoding one token with top-1: one expert, no gather
        routed = self._sparse_run(self.experts, int(chosen), hidden_states * weights)
        return self.shared_expert(hidden_states).add_(routed), router_logits
    flat = chosen.reshape(-1)
    order = torch.argsort(flat, stable=True)
    token_of = order // self.top_k
    # The stock code scales each expert's input, not its output, by the router score.
    routed_in = hidden_states[token_of] * weights.reshape(-1, 1)[order]
    counts = torch.bincount(flat, minlength=self.num_experts).tolist()
    pieces, start = [], 0
    for expert, count in enumerate(counts):
        if count:
            pieces.append(self._sparse_run(self.experts, expert, routed_in[start : start + count]))
            start += count
    routed_out = torch.cat(pieces) if pieces else routed_in
    out = self.shared_expert(hidden_states)
    if self.top_k == 1:
        # One routed expert per token: the stock sum over experts is that one output.
        unsorted = torch.empty_like(routed_out)
        unsorted[token_of] = routed_out
        out.add_(unsorted)
    else:
        total = torch.zeros(out.shape, dtype=torch.float32, device=out.device)
        total.index_add_(0, token_of, routed_out.float())
        out.add_(total.to(out.dtype))
    return out, router_logits


def _install(moe: nn.Module, forward: Any, name: str, value: Any) -> Any:
    """Put `forward` in place with `value` as `moe.<name>`; return a function that undoes it."""
    setattr(moe, name, value)
    bound = types.MethodType(forward, moe)
    # accelerate's device hooks keep the original forward in `_old_forward` and call it.
    slot = (
        "_old_forward" if hasattr(moe, "_hf_hook") and hasattr(moe, "_old_forward") else "forward"
    )
    had, before = slot in moe.__dict__, moe.__dict__.get(slot)
    setattr(moe, slot, bound)

    def undo() -> None:
        delattr(moe, name)
        if had:
            setattr(moe, slot, before)
        else:
            delattr(moe, slot)

    return undo


@torch.no_grad()
def _disagreement(
    moe: nn.Module, stock: torch.Tensor, probe: torch.Tensor, what: str = "the sparse output"
) -> str:
    """'' when the installed forward gives the `stock` output on the probe tokens, else why not."""
    sparse = moe(probe)[0].float()
    scale = float(stock.abs().max()) or 1.0
    worst = float((sparse - stock).abs().max())
    if worst <= 1e-2 * scale:
        return ""
    return f"{what} differs from transformers' by {worst:.3g} (scale {scale:.3g})"


def _probe(moe: Any) -> torch.Tensor:
    """A few tokens on the router's device, enough to route to several experts."""
    weight = moe.router.weight
    gen = torch.Generator(device="cpu").manual_seed(16)
    tokens = torch.randn(8, int(moe.hidden_dim), generator=gen)
    return tokens.to(device=weight.device, dtype=weight.dtype)


def is_sparse(moe: nn.Module) -> bool:
    """Whether this MoE module runs only its routed experts (either dispatch)."""
    return hasattr(moe, "_sparse_run") or hasattr(moe, "_grouped")


def is_grouped(moe: nn.Module) -> bool:
    """Whether this MoE module runs its experts as grouped matmuls."""
    return hasattr(moe, "_grouped")


@torch.no_grad()
def _try_grouped(moe: Any, layout: str, probe: torch.Tensor, undo_loop: Any) -> tuple[str, str]:
    """Move a layer that runs the per-expert dispatch to grouped matmuls: (label, '') or ('', why).

    The grouped path must give the per-expert dispatch's output on the probe tokens;
    if it cannot be built, fails or differs, the per-expert dispatch stays.
    """
    # A decoded token too: on the CPU one token takes its own path (`GroupedExperts.run`).
    today = [moe(tokens)[0].float() for tokens in (probe, probe[:1])]
    try:
        plan, reason = (plan_fused if layout.startswith("fused") else plan_per_expert)(moe.experts)
    except (RuntimeError, ValueError) as error:  # e.g. out of memory while stacking
        plan, reason = None, f"its weights could not be stacked ({error})"
    if plan is None:
        return "", reason
    runner = moe._sparse_run
    undo_loop()
    undo = _install(moe, grouped_forward, "_grouped", plan)
    try:
        reason = _disagreement(moe, today[0], probe, "the grouped output") or _disagreement(
            moe, today[1], probe[:1], "the grouped output for one token"
        )
    except (RuntimeError, ValueError) as error:
        reason = f"the grouped matmul failed: {error}"
    if reason:
        undo()
        _install(moe, _sparse_forward, "_sparse_run", runner)
        return "", reason.replace("transformers'", "the per-expert dispatch's")
    return plan.label, ""


def apply_sparse_experts(model: nn.Module, mode: str | None = None) -> ExpertsReport:
    """Make every MoE module of a loaded Llama 4 model run only its routed experts.

    `mode` defaults to ``MAVERICK_DESK_EXPERTS``; 'dense' changes nothing, 'loop' stops
    at the per-expert dispatch, 'sparse' goes on to grouped matmuls where they pass.
    """
    mode = mode or experts_mode()
    report = ExpertsReport(mode=mode)
    moes = [m for m in model.modules() if type(m).__name__ == MOE_CLASS]
    report.moe_layers = len(moes)
    if mode == "dense":
        log.info("experts: %s (%s=dense)", DENSE_LABEL, EXPERTS_ENV)
        return report
    for number, moe in enumerate(moes):
        layout, reason = _layout(moe)
        if layout is None:
            message = f"MoE layer {number} keeps transformers' dense path: {reason}"
            log.warning(message)
            report.fallbacks.append(message)
            continue
        probe = _probe(moe)
        with torch.no_grad():
            stock = moe(probe)[0].float()
        runner = _run_fused if layout.startswith("fused") else _run_per_expert
        undo = _install(moe, _sparse_forward, "_sparse_run", runner)
        reason = _disagreement(moe, stock, probe)
        if reason:
            undo()
            message = f"MoE layer {number} keeps transformers' dense path: {reason}"
            log.warning(message)
            report.fallbacks.append(message)
            continue
        report.sparse_layers += 1
        report.top_k = int(getattr(moe, "top_k", 0))
        label = f"{layout} experts"
        if mode == "sparse":
            grouped, reason = _try_grouped(moe, layout, probe, undo)
            if grouped:
                report.grouped_layers += 1
                label = grouped
            else:
                message = f"MoE layer {number} keeps the per-expert dispatch: {reason}"
                log.warning(message)
                report.kept_loop.append(message)
        report.layouts.append(label)
    log.info("experts: %s", report.label)
    return report
