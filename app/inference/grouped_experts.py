"""Routed experts as one grouped matmul per projection, with no host sync (issue 32).

The per-expert dispatch of `app.inference.sparse_experts` asks the host which
experts were chosen (`.tolist()`, or `int()` when decoding) and launches each
chosen expert's MLP in a Python loop: about 30 launches an expert, a sync a
layer, and nothing a CUDA graph could capture. Here the tokens are sorted by
expert on the device, the group offsets come from `histc` + `cumsum` (as in
transformers' `integrations/moe.py`), and each projection is one
`torch.nn.functional.grouped_mm` over all experts of the layer, gate and up
fused into one. The forward never reads a tensor on the host.

Weights, per layout:

- fused bf16 `Llama4TextExperts`: `gate_up_proj` [E, H, 2I] and `down_proj`
  [E, I, H] are already what `grouped_mm` takes; nothing is copied;
- per-expert bf16 `nn.Linear` (FP8 checkpoints dequantised on the CPU): the
  weights are copied once into one [E, 2I, H] and one [E, H, I] tensor and each
  Linear keeps a view of its rows, so memory does not grow and the per-expert
  dispatch still works on the same storage;
- per-expert FP8 `CompressedTensorsFP8Linear` (FP8 kept FP8 on the GPU): the
  FP8 weights and their per-channel scales are stacked the same way, each
  activation is quantised per row once, and each projection is one
  `torch._scaled_grouped_mm`. Only GPUs of compute capability 9.0 or newer
  have that kernel; elsewhere the layer keeps the per-expert dispatch.

On a GPU the stacking goes through host memory, a layer at a time, so the GPU
never holds a layer's experts twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

FP8_LINEAR_CLASS = "CompressedTensorsFP8Linear"
FP8_GROUPED_CAPABILITY = (9, 0)  # Hopper: the first with a scaled grouped GEMM in torch
CPU_GATHER_MAX = 1 << 22  # elements of one expert's gate_up: copied per decoded token
_FP8 = torch.float8_e4m3fn
_FP8_MAX = torch.finfo(_FP8).max


@dataclass
class GroupedExperts:
    """One MoE layer's routed experts as grouped-matmul operands.

    `gate_up` is [E, H, 2I] and `down` [E, I, H] (possibly transposed views of
    row-major [E, N, K] stacks); `*_scale` are the FP8 per-channel scales [E, N],
    None for bf16 experts.
    """

    gate_up: torch.Tensor
    down: torch.Tensor
    act: Callable[[torch.Tensor], torch.Tensor]
    label: str
    gate_up_scale: torch.Tensor | None = None
    down_scale: torch.Tensor | None = None

    def run(
        self, tokens: torch.Tensor, offsets: torch.Tensor, experts: torch.Tensor
    ) -> torch.Tensor:
        """The experts' MLP on `tokens` [S, H], sorted by `experts`, groups ending at `offsets`."""
        if tokens.shape[0] == 1 and tokens.device.type == "cpu" and self._small():
            # The CPU's grouped_mm visits every group (~0.5 ms for 128, most of a small
            # decoded token); one token's expert, gathered, is one small bmm instead.
            gate, up = torch.bmm(tokens.unsqueeze(1), self.gate_up[experts]).chunk(2, dim=-1)
            return torch.bmm(up * self.act(gate), self.down[experts]).squeeze(1)
        if self.gate_up_scale is None or self.down_scale is None:
            gate, up = torch.nn.functional.grouped_mm(tokens, self.gate_up, offs=offsets).chunk(
                2, dim=-1
            )
            return torch.nn.functional.grouped_mm(up * self.act(gate), self.down, offs=offsets)
        return fp8_grouped_mlp(self, tokens, offsets)

    def _small(self) -> bool:
        """Whether one expert's weights are small enough to copy per token (the demos)."""
        return self.gate_up_scale is None and self.gate_up[0].numel() <= CPU_GATHER_MAX


def quantise_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """FP8 rows and their float32 scales, as `CompressedTensorsFP8Linear` quantises its input."""
    x_float = x.to(torch.float32)
    row_max = x_float.abs().amax(dim=-1)
    scales = torch.where(row_max > 0, row_max, torch.ones_like(row_max)) / _FP8_MAX
    x_fp8 = torch.clamp(x_float / scales.unsqueeze(-1), min=-_FP8_MAX, max=_FP8_MAX).to(_FP8)
    return x_fp8, scales


def fp8_grouped_mlp(
    experts: GroupedExperts, tokens: torch.Tensor, offsets: torch.Tensor
) -> torch.Tensor:
    """The FP8 experts' MLP: each activation quantised once, two scaled grouped matmuls."""
    assert experts.gate_up_scale is not None and experts.down_scale is not None
    quantised, scale = quantise_rows(tokens)
    gate_up = torch._scaled_grouped_mm(
        quantised,
        experts.gate_up,
        scale,
        experts.gate_up_scale,
        offs=offsets,
        out_dtype=tokens.dtype,
    )
    gate, up = gate_up.chunk(2, dim=-1)
    quantised, scale = quantise_rows(experts.act(gate) * up)
    return torch._scaled_grouped_mm(
        quantised, experts.down, scale, experts.down_scale, offs=offsets, out_dtype=tokens.dtype
    )


def group_offsets(sorted_experts: torch.Tensor, num_experts: int) -> torch.Tensor:
    """int32 end offset of each expert's group in the sorted tokens, computed on the device.

    `histc` rather than `bincount`: bincount sizes its output from the data (a sync on
    CUDA); histc's bins are fixed. On the CPU histc takes floats only.
    """
    counts_of = sorted_experts.float() if sorted_experts.device.type == "cpu" else sorted_experts
    counts = torch.histc(counts_of, bins=num_experts, min=0, max=num_experts - 1)
    return torch.cumsum(counts, dim=0, dtype=torch.int32)


def _aligned(dtype: torch.dtype, *widths: int) -> bool:
    """Whether every width is a multiple of 16 bytes: the grouped kernels' stride rule."""
    per = 16 // torch.empty((), dtype=dtype).element_size()
    return all(width % per == 0 for width in widths)


def plan_fused(experts: Any) -> tuple[GroupedExperts | None, str]:
    """Grouped operands for fused `Llama4TextExperts`, or why not."""
    gate_up, down = experts.gate_up_proj, experts.down_proj
    if gate_up.dtype != torch.bfloat16 or down.dtype != gate_up.dtype:
        return None, f"fused experts are {gate_up.dtype}, the grouped matmul takes bfloat16"
    if not _aligned(gate_up.dtype, down.shape[1], down.shape[2]):
        return None, f"widths {tuple(down.shape[1:])} are not multiples of 16 bytes"
    # CUTLASS wants 16-byte aligned operands; the CPU kernel of torch >= 2.11 does not (a
    # safetensors file mapped into memory leaves them wherever the file puts them).
    misaligned = gate_up.data_ptr() % 16 or down.data_ptr() % 16
    if misaligned and gate_up.device.type == "cuda":
        return None, "fused expert weights are not 16-byte aligned in memory"
    label = "grouped matmul over fused bf16 experts"
    return GroupedExperts(gate_up, down, experts.act_fn, label), ""


def plan_per_expert(experts: Any) -> tuple[GroupedExperts | None, str]:
    """Stack the per-expert Linear weights of one layer (in place, as views), or say why not."""
    first = experts[0]
    linears = [[mlp.gate_proj, mlp.up_proj, mlp.down_proj] for mlp in experts]
    kinds = {type(linear).__name__ for trio in linears for linear in trio}
    weight = first.gate_proj.weight
    devices = {linear.weight.device for trio in linears for linear in trio}
    acts = {type(mlp.activation_fn) for mlp in experts}
    if len(kinds) != 1 or len(devices) != 1 or len(acts) != 1:
        return None, "the experts mix Linear classes, devices or activations"
    if weight.is_meta:
        return None, "expert weights are not materialised (meta / offloaded)"
    if any(linear.bias is not None for trio in linears for linear in trio):
        return None, "expert Linear modules have a bias"
    (kind,) = kinds
    inter, hidden = weight.shape
    if kind == FP8_LINEAR_CLASS:
        reason = fp8_unavailable(weight.device)
        if reason:
            return None, reason
        if not _aligned(_FP8, hidden, inter):
            return None, f"widths ({hidden}, {inter}) are not multiples of 16 bytes"
        gate_up, gate_up_scale = _stack(linears, (0, 1), scales=True)
        down, down_scale = _stack(linears, (2,), scales=True)
        label = "scaled grouped matmul over stacked FP8 experts"
        return GroupedExperts(
            gate_up.transpose(1, 2),
            down.transpose(1, 2),
            first.activation_fn,
            label,
            gate_up_scale,
            down_scale,
        ), ""
    if kind != "Linear" or weight.dtype != torch.bfloat16:
        return None, f"experts are {kind} of {weight.dtype}, not bf16 Linear or FP8 Linear"
    if not _aligned(weight.dtype, hidden, inter):
        return None, f"widths ({hidden}, {inter}) are not multiples of 16 bytes"
    gate_up, _ = _stack(linears, (0, 1), scales=False)
    down, _ = _stack(linears, (2,), scales=False)
    label = "grouped matmul over stacked bf16 Linear experts"
    plan = GroupedExperts(gate_up.transpose(1, 2), down.transpose(1, 2), first.activation_fn, label)
    return plan, ""


def fp8_unavailable(device: torch.device) -> str:
    """'' when `device` has the FP8 scaled grouped matmul, else why not."""
    if device.type != "cuda":
        return f"FP8 experts on {device.type}: the scaled grouped matmul needs a CUDA GPU"
    capability = torch.cuda.get_device_capability(device)
    if capability < FP8_GROUPED_CAPABILITY:
        wanted = ".".join(map(str, FP8_GROUPED_CAPABILITY))
        have = ".".join(map(str, capability))
        return f"this GPU (compute capability {have}) has no FP8 scaled grouped matmul ({wanted}+)"
    return ""


def _stack(
    linears: list[list[Any]], which: tuple[int, ...], scales: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """[E, R, K] of the chosen Linear weights per expert (rows concatenated), and [E, R] scales.

    Each Linear's `weight` (and `weight_scale`) becomes a view into the stack.
    """
    chosen = [[trio[i] for i in which] for trio in linears]
    sample = chosen[0][0].weight
    rows = sum(int(linear.weight.shape[0]) for linear in chosen[0])
    device, dtype = sample.device, sample.dtype
    sources: list[list[torch.Tensor]] = [[lin.weight.detach() for lin in group] for group in chosen]
    if device.type == "cuda":
        # Through host memory: the GPU gives the per-expert tensors back before the stack
        # is allocated, so its peak stays one layer of experts.
        sources = [[w.to("cpu") for w in group] for group in sources]
        for group in chosen:
            for linear in group:
                linear.weight = nn.Parameter(sample.new_empty(0), requires_grad=False)
        torch.cuda.empty_cache()
    try:
        stack = torch.empty(len(chosen), rows, sample.shape[1], dtype=dtype, device=device)
        scale_stack = torch.empty(len(chosen), rows, dtype=torch.float32, device=device)
    except RuntimeError:  # out of memory: give each Linear its own weight back, then say so
        for group, weights in zip(chosen, sources, strict=True):
            for linear, weight in zip(group, weights, strict=True):
                linear.weight = nn.Parameter(weight.to(device), requires_grad=False)
        raise
    for expert, group in enumerate(chosen):
        row = 0
        for linear, source in zip(group, sources[expert], strict=True):
            n = int(source.shape[0])
            stack[expert, row : row + n].copy_(source)
            linear.weight = nn.Parameter(stack[expert, row : row + n], requires_grad=False)
            if scales:
                scale_stack[expert, row : row + n].copy_(linear.weight_scale.detach().reshape(-1))
                view = scale_stack[expert, row : row + n].view(1, n)
                linear.weight_scale = nn.Parameter(view, requires_grad=False)
            row += n
    return stack, scale_stack if scales else None


def grouped_forward(self: Any, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`Llama4TextMoe.forward` over the chosen experts only, without reading the device.

    Each token's input is scaled by its router score before its expert, as the stock
    code scales it.
    """
    hidden_states = hidden_states.reshape(-1, self.hidden_dim)
    weights, chosen, router_logits = route(self.router, hidden_states, self.top_k)
    sorted_experts, order = torch.sort(chosen.reshape(-1), stable=True)
    if self.top_k == 1:
        token_of = order
        routed_in = (hidden_states * weights)[order]
    else:
        token_of = order // self.top_k
        routed_in = hidden_states[token_of] * weights.reshape(-1, 1)[order]
    grouped: GroupedExperts = self._grouped
    offsets = group_offsets(sorted_experts, self.num_experts)
    routed_out = grouped.run(routed_in, offsets, sorted_experts)
    out = self.shared_expert(hidden_states)
    if self.top_k == 1:
        # One expert per token: each row of `out` gets exactly one addition, as in the stock sum.
        return out.index_add_(0, token_of, routed_out), router_logits
    total = torch.zeros(out.shape, dtype=torch.float32, device=out.device)
    total.index_add_(0, token_of, routed_out.float())
    return out.add_(total.to(out.dtype)), router_logits


def route(
    router: Any, hidden_states: torch.Tensor, top_k: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(scores [T, k], experts [T, k], logits [T, E]) with the arithmetic of `Llama4Router`.

    The stock router scatters its top-k logits into a [T, E] tensor of -inf and takes the
    sigmoid of all of it; only the top-k entries are used, so the sigmoid of those alone
    is the same numbers in fewer launches. A router of any other class (or behind an
    accelerate hook) is called as it is.
    """
    if type(router).__name__ != "Llama4Router" or hasattr(router, "_hf_hook"):
        scores, logits = router(hidden_states)
        chosen = torch.topk(logits, top_k, dim=1).indices
        return scores.gather(1, chosen), chosen, logits
    logits = torch.nn.functional.linear(hidden_states, router.weight, router.bias)
    top, chosen = torch.topk(logits, top_k, dim=1)
    return torch.sigmoid(top.float()).to(logits.dtype), chosen, logits
