"""Will a checkpoint fit, and how much context is left? Worked out before anything is loaded.

Torch-free: everything comes from `config.json`, the safetensors headers (through
`app.checkpoints.checkpoint`) and the free memory of the devices, so the window and
the command line can answer before 400 GB are read. The figures are estimates
of what transformers 5 allocates:

- **Weights** in the dtypes they are loaded in: FP8 tensors stay 1 byte (plus
  their bf16 scales) on GPUs with FP8 matmuls and become bf16 elsewhere;
  every other floating tensor is loaded as bf16.
- **KV cache**: `DynamicCache(config=...)` gives full-attention (NoPE) layers one
  slot per token, and chunked-attention layers (past recording on, for the prompt
  cache) at most their window, the kept history and one prefill chunk
  (`app.checkpoints.memory_model`, which the engine obeys); each slot is 2 (K and V)
  x KV heads x head_dim x 2 bytes (bf16).
- **The prompt pass** runs in steps of 512 to 8,192 tokens (`app.checkpoints.prefill_step`:
  the largest that fits, or ``MAVERICK_DESK_PREFILL_STEP``); the context that fits is
  worked out with 512-token steps (what the engine falls back to when memory is short,
  or the pinned step), and `Preflight.prefill_step` says which step fits at that
  context. Its largest transient is the last step's, whose keys reach back over the
  whole prompt: the sdpa masks and their
  additive copy (bytes per query x key pair), the key and value heads repeated to the
  query heads, and the chunk's activations
  (`app.checkpoints.memory_model.AttentionShape`). The MLP part per token: with the
  sparse expert dispatch (the default, `app.inference.sparse_experts`) each token
  runs only its routed expert: the larger of a dense MLP layer, (hidden + 4 x dense
  intermediate) x 2 bytes, and a MoE layer, (8 x hidden + 4 x expert intermediate)
  x 2 bytes, plus 12 bytes per expert for the router's scores. With
  ``MAVERICK_DESK_EXPERTS=dense`` transformers multiplies every token by every routed
  expert: the fused bf16 experts peak at experts x (hidden + 4 x expert
  intermediate) x 2 bytes a token, the compressed-tensors experts (one at a time) at
  2 x experts x hidden x 2 bytes. Every GPU holds layers of both kinds, so every GPU
  needs room for the transient, and the KV cache is spread over them with the layers.
- **A margin** on each device of 2 GiB (CUDA context, cuBLAS workspace) plus 5 %
  of its free memory (allocator fragmentation).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.checkpoints.checkpoint import CheckpointInfo, human_bytes
from app.checkpoints.compile_mode import CompileModeError, compile_mode
from app.checkpoints.devices import Device
from app.checkpoints.experts_mode import dense_requested
from app.checkpoints.memory_model import (
    DEFAULT_HISTORY_TOKENS,
    PREFILL_CHUNK_TOKENS,
    AttentionShape,
    cache_capacity,
    chunked_slots,
)
from app.checkpoints.model_size import parameters_from_config, text_config
from app.checkpoints.prefill_step import (
    largest_step,
    pinned_or_default,
    window_attention_or_default,
)

GIB = 1024**3
RESERVE_FIXED = 2 * GIB
RESERVE_FRACTION = 0.05
BF16 = 2
# Below this the model is not usefully loaded: a system prompt and one question with an image.
MIN_CONTEXT = 2048
ATTENTION_IMPLEMENTATIONS = ("sdpa", "flex_attention", "eager")


@dataclass(frozen=True)
class ModelMemory:
    """What a checkpoint needs, independent of the machine."""

    name: str
    weights_fp8_bytes: int  # as loaded where FP8 matmuls exist (equal to bf16 for bf16 models)
    weights_bf16_bytes: int  # as loaded with every floating tensor in bf16
    is_fp8: bool
    full_layers: int
    chunked_layers: int
    chunk_size: int
    kv_bytes_per_slot: int  # one token of one layer: K and V
    prompt_bytes_per_token: int  # transient of the prompt pass on the GPU running a layer
    max_context: int
    routed_experts: int
    attention: AttentionShape
    full_flags: tuple[bool, ...] = ()  # per layer: full attention (else chunked)
    sparse_experts: bool = True  # the prompt pass runs only the routed experts
    history_tokens: int = DEFAULT_HISTORY_TOKENS  # what chunked layers keep past the window
    # The prefill step the context limit is worked out with: the pinned one, else 512.
    prefill_chunk: int = PREFILL_CHUNK_TOKENS
    pinned_step: int | None = None  # MAVERICK_DESK_PREFILL_STEP; None: from free memory
    # The compiled decode step's static cache is allocated besides the prompt's: full layers
    # once more for the whole request (a power of two), chunked layers one chunk.
    static_decode: bool = False

    def weights_bytes(self, fp8_kernels: bool) -> int:
        return self.weights_fp8_bytes if fp8_kernels else self.weights_bf16_bytes

    def chunked_slots(self, tokens: int) -> int:
        """Positions a chunked-attention layer holds at most, in a request of `tokens`."""
        if not self.chunk_size:
            return tokens
        return chunked_slots(tokens, self.chunk_size, self.history_tokens, self.prefill_chunk)

    def kv_cache_bytes(self, tokens: int, gpus: int = 1) -> int:
        """The KV cache of a request of `tokens`, or with `gpus`, one GPU's largest share.

        A GPU's share is its layers' (12 full layers do not split evenly over 8 GPUs).
        """
        flags = self.full_flags or (True,) * self.full_layers + (False,) * self.chunked_layers
        capacity = cache_capacity(tokens, self.max_context) if self.static_decode else 0
        largest = 0
        for group in gpu_groups(len(flags), gpus):
            full = sum(1 for i in group if flags[i])
            slots = full * tokens + (len(group) - full) * self.chunked_slots(tokens)
            if capacity:
                chunk = min(self.chunk_size, capacity) if self.chunk_size else capacity
                slots += full * capacity + (len(group) - full) * chunk
            largest = max(largest, slots)
        return largest * self.kv_bytes_per_slot

    @property
    def kv_fixed_bytes(self) -> int:
        """What the chunked layers hold once a request is past their window and history."""
        return self.chunked_layers * self.chunked_slots(1 << 62) * self.kv_bytes_per_slot

    @property
    def kv_bytes_per_token(self) -> int:
        """What each token adds past that: the full-attention layers' slots."""
        return self.full_layers * self.kv_bytes_per_slot

    def with_window_attention(self, on: bool) -> ModelMemory:
        """These figures for chunked layers that attend window by window (`on`) or masked."""
        return dataclasses.replace(self, attention=dataclasses.replace(self.attention, windowed=on))

    @property
    def step_window(self) -> int:
        """The window a prefill step must stay within (0: none; see `steps_within`)."""
        return 0 if self.attention.windowed else self.chunk_size

    def prompt_pass_bytes(self, tokens: int, attn: str) -> int:
        """The prompt pass's largest transient on a GPU, for a prompt of `tokens`."""
        return self.attention.prompt_pass_bytes(tokens, attn, self.prefill_chunk)

    def step_bytes(self, tokens: int, attn: str, step: int, gpus: int = 1) -> int:
        """What prefilling `tokens` in steps of `step` needs on a GPU beyond 512-token steps.

        The step's transient (`prompt_pass_bytes` at that step) and the positions the
        chunked layers hold beyond one 512-token chunk (`chunked_slots`).
        """
        at_step = dataclasses.replace(self, prefill_chunk=step)
        at_512 = dataclasses.replace(self, prefill_chunk=PREFILL_CHUNK_TOKENS)
        extra_kv = at_step.kv_cache_bytes(tokens, gpus) - at_512.kv_cache_bytes(tokens, gpus)
        return at_step.prompt_pass_bytes(tokens, attn) + extra_kv


def decode_compiled() -> bool:
    """Whether the engine would compile the decode step, and so allocate its static cache.

    It does unless MAVERICK_DESK_COMPILE=off; an unknown value counts as compiled (the
    worker refuses it at load).
    """
    try:
        return compile_mode() != "off"
    except CompileModeError:
        return True


def _layer_kinds(text: dict[str, Any]) -> tuple[tuple[bool, ...], int]:
    """(for each layer, whether it is full attention; chunk size), as the cache sees them."""
    layers = int(text.get("num_hidden_layers") or 0)
    chunk = int(text.get("attention_chunk_size") or 0)
    kinds = text.get("layer_types")
    if not kinds:
        no_rope = text.get("no_rope_layers") or [
            int((i + 1) % int(text.get("no_rope_layer_interval") or 4) != 0) for i in range(layers)
        ]
        kinds = ["chunked_attention" if flag else "full_attention" for flag in no_rope]
    if not chunk:
        return (True,) * layers, 0
    return tuple(kind != "chunked_attention" for kind in kinds[:layers]), chunk


def gpu_groups(layers: int, gpus: int) -> list[range]:
    """The layers each GPU holds when `device_map="auto"` spreads them evenly, in order."""
    gpus = max(1, min(gpus, layers or 1))
    size, extra = divmod(layers, gpus)
    groups, start = [], 0
    for index in range(gpus):
        end = start + size + (1 if index < extra else 0)
        groups.append(range(start, end))
        start = end
    return groups


def _memory(name: str, config: dict[str, Any], fp8_bytes: int, bf16_bytes: int) -> ModelMemory:
    text = text_config(config)
    hidden = int(text["hidden_size"])
    heads = int(text["num_attention_heads"])
    kv_heads = int(text.get("num_key_value_heads") or heads)
    head_dim = int(text.get("head_dim") or hidden // heads)
    experts = int(text.get("num_local_experts") or 0)
    inter = int(text.get("intermediate_size") or 0)
    quant = config.get("quantization_config") or {}
    compressed = isinstance(quant, dict) and quant.get("quant_method") == "compressed-tensors"
    sparse = not dense_requested()
    pinned = pinned_or_default()  # MAVERICK_DESK_PREFILL_STEP, read once
    mlp = (hidden + 4 * int(text.get("intermediate_size_mlp") or inter)) * BF16
    if experts > 1 and not sparse and compressed:
        prompt = 2 * experts * hidden * BF16
    elif experts > 1 and not sparse:
        prompt = experts * (hidden + 4 * inter) * BF16
    elif experts > 1:
        prompt = max(mlp, (8 * hidden + 4 * inter) * BF16 + 12 * experts)
    else:
        prompt = mlp
    full_flags, chunk = _layer_kinds(text)
    full = sum(full_flags)
    chunked = len(full_flags) - full
    shape = AttentionShape(
        hidden,
        heads,
        kv_heads,
        head_dim,
        chunk if chunked else 0,
        prompt,
        window_attention_or_default(),
    )
    return ModelMemory(
        name=name,
        weights_fp8_bytes=fp8_bytes,
        weights_bf16_bytes=bf16_bytes,
        is_fp8=fp8_bytes != bf16_bytes,
        full_layers=full,
        chunked_layers=chunked,
        chunk_size=chunk,
        kv_bytes_per_slot=2 * kv_heads * head_dim * BF16,
        prompt_bytes_per_token=prompt,
        max_context=int(text.get("max_position_embeddings") or 0),
        routed_experts=experts,
        attention=shape,
        full_flags=full_flags,
        sparse_experts=sparse,
        prefill_chunk=pinned or PREFILL_CHUNK_TOKENS,
        pinned_step=pinned,
        static_decode=decode_compiled(),
    )


def model_memory(info: CheckpointInfo) -> ModelMemory:
    """Exact weight figures from the safetensors headers of an inspected checkpoint."""
    fp8 = bf16 = 0
    for tensor in info.tensors:
        if tensor.dtype.startswith("F8"):
            fp8 += tensor.numel
            bf16 += tensor.numel * BF16
        elif tensor.dtype in ("F64", "F32", "F16", "BF16"):
            # The loader asks for bf16; FP8 scales are dropped when dequantising.
            fp8 += tensor.numel * BF16
            if not tensor.name.endswith(("weight_scale", "input_scale")):
                bf16 += tensor.numel * BF16
        else:
            fp8 += tensor.nbytes
            bf16 += tensor.nbytes
    return _memory(info.name, info.config, fp8, bf16)


def model_memory_from_config(config: dict[str, Any], name: str = "model") -> ModelMemory:
    """An estimate from config.json alone, for a checkpoint whose shards are not all here.

    FP8 compressed-tensors checkpoints keep the routed experts in FP8 with one bf16
    scale per output channel; everything else is bf16.
    """
    count = parameters_from_config(config)
    quant = config.get("quantization_config") or {}
    bf16 = count.total * BF16
    if isinstance(quant, dict) and quant.get("quant_method") == "compressed-tensors":
        text = text_config(config)
        moe_layers = count.moe_layers
        hidden, inter = int(text["hidden_size"]), int(text["intermediate_size"])
        scales = moe_layers * count.experts * (2 * inter + hidden) * BF16
        fp8 = (count.total - count.routed) * BF16 + count.routed + scales
        return _memory(name, config, fp8, bf16)
    return _memory(name, config, bf16, bf16)


def reserve_for(device: Device) -> int:
    """Memory kept free on a device for the CUDA context and fragmentation."""
    return RESERVE_FIXED + int(device.free_bytes * RESERVE_FRACTION)


@dataclass(frozen=True)
class Preflight:
    """The answer: does it fit, with how much context, and what to change if not."""

    memory: ModelMemory
    devices: tuple[Device, ...]
    attn: str
    fp8_kernels: bool
    weights_bytes: int
    reserve_bytes: int
    free_bytes: int
    fitting_context: int  # longest context that fits (0: the weights alone do not fit)
    kv_only_context: int  # what the KV cache alone would allow, without the prompt pass
    context: int  # the context to use: the request, or what fits up to the model's limit
    requested: int | None
    fitting_flex: int = 0  # the fitting context with flex_attention

    @property
    def left_bytes(self) -> int:
        """Memory left after the weights and the margins, for the KV cache and the prompt pass."""
        return self.free_bytes - self.weights_bytes - self.reserve_bytes

    @property
    def fits(self) -> bool:
        wanted = self.requested or min(MIN_CONTEXT, self.memory.max_context or MIN_CONTEXT)
        return self.fitting_context >= wanted

    @property
    def kv_cache_bytes(self) -> int:
        return self.memory.kv_cache_bytes(self.context)

    def where(self) -> str:
        gpus = [d for d in self.devices if d.kind == "gpu"]
        if not gpus:
            return f"in CPU memory ({human_bytes(self.free_bytes)} available)"
        sizes = {d.free_bytes for d in gpus}
        if len(sizes) == 1:
            return f"on {len(gpus)} × {_gib(gpus[0].free_bytes)} GPU" + (
                "s" if len(gpus) > 1 else ""
            )
        return "on " + " + ".join(_gib(d.free_bytes) for d in gpus) + " GPUs"

    def summary(self) -> str:
        """One sentence: fits with how much context, or why not and what to change."""
        mem = self.memory
        if self.fits:
            text = (
                f"Fits {self.where()} with {human_bytes(self.left_bytes)} left for the KV "
                f"cache and the prompt pass: about {self.context:,} tokens of context"
            )
            if self.requested is None and self.context < mem.max_context:
                text += f" (the model allows {mem.max_context:,})"
            text += "."
            if self.prompt_limited and mem.sparse_experts:
                what = (
                    "its activations"
                    if self.attn == "flex_attention"
                    else "its masks, the key and value heads repeated for sdpa, and activations"
                )
                text += (
                    f" The prompt pass is the limit: its last {mem.prefill_chunk}-token chunk "
                    f"needs {human_bytes(mem.prompt_pass_bytes(self.context, self.attn))} on "
                    f"each GPU ({what}), while the KV cache alone would hold "
                    f"{self.kv_only_context:,} tokens."
                )
            elif self.prompt_limited:
                text += (
                    f" The prompt pass is the limit: transformers runs all {mem.routed_experts} "
                    f"experts on every prompt token ({human_bytes(mem.prompt_bytes_per_token)} "
                    f"a token on each GPU), while the KV cache alone would hold "
                    f"{self.kv_only_context:,} tokens; a server engine such as vLLM reaches them."
                )
            return text
        if self.left_bytes <= 0:
            why = (
                f"Does not fit {self.where()}: the weights need "
                f"{human_bytes(self.weights_bytes)} plus {human_bytes(self.reserve_bytes)} of "
                f"margin, and {human_bytes(self.free_bytes)} is free."
            )
        else:
            why = (
                f"{self.requested or MIN_CONTEXT:,} tokens of context do not fit "
                f"{self.where()}: the weights leave {human_bytes(self.left_bytes)}, enough for "
                f"about {self.fitting_context:,} tokens."
            )
        return why + " " + self.advice()

    @property
    def gpu_count(self) -> int:
        """The GPUs the layers spread over (1 for the CPU)."""
        return max(1, sum(1 for d in self.devices if d.kind == "gpu"))

    @property
    def prefill_step(self) -> int:
        """The prefill step at `context`: pinned, or the largest that fits what is left."""
        mem = self.memory
        if mem.pinned_step is not None:
            return mem.pinned_step
        gpus = self.gpu_count
        base = mem.kv_cache_bytes(self.context, gpus)

        def need(step: int) -> int:
            return gpus * (base + mem.step_bytes(self.context, self.attn, step, gpus))

        return largest_step(need, self.left_bytes, mem.step_window)

    @property
    def prefill_step_bytes(self) -> int:
        """What the prompt pass needs on each GPU in `prefill_step` steps, at `context`."""
        return self.memory.step_bytes(self.context, self.attn, self.prefill_step, self.gpu_count)

    @property
    def prompt_limited(self) -> bool:
        """Whether the prompt pass, not the KV cache, caps the context well below memory."""
        return self.kv_only_context > 2 * max(self.fitting_context, 1)

    def advice(self) -> str:
        """What to change, most effective first."""
        tips = []
        if self.left_bytes > 0 and self.fitting_context > 0:
            tips.append(f"ask for a shorter context (--context {self.fitting_context})")
        if not self.memory.is_fp8 and self.memory.routed_experts > 1:
            tips.append(
                "use the FP8 checkpoint (meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8)"
            )
        if self.memory.is_fp8 and not self.fp8_kernels:
            tips.append("use GPUs with FP8 matmuls (compute capability 8.9+: Ada, Hopper)")
        if self.left_bytes <= 0:
            short = -self.left_bytes + self.memory.kv_cache_bytes(MIN_CONTEXT)
            tips.append(f"add GPUs with about {human_bytes(short)} more free memory")
        if self.attn != "flex_attention" and self.fitting_flex > 1.25 * self.fitting_context:
            tips.append(f"use flex_attention (about {self.fitting_flex:,} tokens)")
        if self.left_bytes > 0 or not tips:
            tips.append("serve the model with a server engine such as vLLM")
        if len(tips) == 1:
            return "To change that: " + tips[0] + "."
        return "To change that: " + "; ".join(tips[:-1]) + "; or " + tips[-1] + "."

    def details(self) -> list[tuple[str, str]]:
        mem = self.memory
        per_token = mem.prompt_pass_bytes(1, "flex_attention")
        rows = [
            ("model", mem.name),
            ("devices", "; ".join(d.describe() for d in self.devices) or "none"),
            (
                "weights",
                human_bytes(self.weights_bytes)
                + (" (FP8 experts)" if mem.is_fp8 and self.fp8_kernels else "")
                + (" (FP8 dequantised to bf16)" if mem.is_fp8 and not self.fp8_kernels else ""),
            ),
            ("margin", f"{human_bytes(self.reserve_bytes)} (2 GiB + 5 % per device)"),
            ("left", human_bytes(max(self.left_bytes, 0))),
            (
                "KV cache",
                f"{human_bytes(mem.kv_bytes_per_token)} per token "
                f"({mem.full_layers} full-attention layers)"
                + (
                    f" + at most {human_bytes(mem.kv_fixed_bytes)} for {mem.chunked_layers} "
                    f"chunked layers ({mem.chunk_size:,}-token window, {mem.history_tokens:,} "
                    f"tokens of history for the prompt cache, one {mem.prefill_chunk}-token "
                    "prefill chunk)"
                    if mem.chunked_layers
                    else ""
                )
                + ", spread over the GPUs with the layers",
            ),
            (
                "prompt pass",
                f"{human_bytes(mem.prompt_pass_bytes(self.context, self.attn))} on each device "
                f"at {self.context:,} tokens, in {mem.prefill_chunk}-token chunks"
                + (
                    f" (the engine computes {self.prefill_step:,}-token steps, which fit: "
                    f"{human_bytes(self.prefill_step_bytes)})"
                    if self.prefill_step != mem.prefill_chunk
                    else ""
                )
                + f": {human_bytes(per_token)} a chunk token of activations"
                + (
                    f" (all {mem.routed_experts} experts run on every token)"
                    if mem.routed_experts > 1 and not mem.sparse_experts
                    else " (only the routed expert runs)"
                    if mem.routed_experts > 1
                    else ""
                )
                + (
                    ", plus the sdpa masks and repeated key/value heads, which grow with the "
                    "context"
                    if self.attn != "flex_attention"
                    else ""
                ),
            ),
            ("attention", self.attn),
            ("context", f"{self.context:,} tokens (KV cache {human_bytes(self.kv_cache_bytes)})"),
            ("KV cache alone", f"would allow {self.kv_only_context:,} tokens"),
            ("model limit", f"{mem.max_context:,} tokens"),
        ]
        return rows


def _gib(n: int) -> str:
    return f"{n / GIB:.0f} GB" if n >= GIB else human_bytes(n)


def _largest_fitting(limit: int, fits: Any) -> int:
    low, high = 0, limit
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def preflight(
    memory: ModelMemory,
    devices: Sequence[Device],
    context: int | None = None,
    attn: str = "sdpa",
) -> Preflight:
    """Check `memory` against `devices` (their free bytes) for a context length."""
    if attn not in ATTENTION_IMPLEMENTATIONS:
        raise ValueError(f"attention implementation must be one of {ATTENTION_IMPLEMENTATIONS}")
    if context is not None and context < 1:
        raise ValueError("The context length must be at least 1 token.")
    if context is not None and memory.max_context and context > memory.max_context:
        raise ValueError(
            f"{memory.name} allows at most {memory.max_context:,} tokens of context; "
            f"ask for {memory.max_context:,} or fewer."
        )
    fp8_kernels = bool(devices) and all(d.fp8 for d in devices)
    weights = memory.weights_bytes(fp8_kernels)
    free = sum(d.free_bytes for d in devices)
    reserve = sum(reserve_for(d) for d in devices)
    left = free - weights - reserve
    count = max(len(devices), 1)
    limit = memory.max_context or 1 << 20

    def fitting_with(attention: str | None) -> int:
        def fits(tokens: int) -> bool:
            # Per GPU: the largest KV share and the whole prompt-pass transient; every GPU
            # is given the same room (the weights are spread evenly: `max_memory_plan`).
            need = memory.kv_cache_bytes(tokens, count)
            if attention is not None:
                need += memory.prompt_pass_bytes(tokens, attention)
            return count * need <= left

        return _largest_fitting(limit, fits) if left > 0 else 0

    fitting = fitting_with(attn)
    chosen = context if context is not None else max(fitting, 0)
    return Preflight(
        memory=memory,
        devices=tuple(devices),
        attn=attn,
        fp8_kernels=fp8_kernels,
        weights_bytes=weights,
        reserve_bytes=reserve,
        free_bytes=free,
        fitting_context=fitting,
        kv_only_context=fitting_with(None),
        context=chosen,
        requested=context,
        fitting_flex=fitting if attn == "flex_attention" else fitting_with("flex_attention"),
    )


def max_memory_plan(
    free_bytes: Sequence[int], weights_bytes: int, largest_layer: int
) -> dict[int, int]:
    """`max_memory` for `device_map="auto"`: spread the weights evenly over the GPUs.

    Each GPU gets its share of the weights plus one layer of slack (layers are not
    split), never more than its free memory minus the margin, so every GPU keeps
    the same room for its part of the KV cache and for the prompt pass.
    """
    count = len(free_bytes)
    if count == 0:
        return {}
    share = math.ceil(weights_bytes / count) + largest_layer
    plan = {}
    for index, free in enumerate(free_bytes):
        cap = free - RESERVE_FIXED - int(free * RESERVE_FRACTION)
        plan[index] = max(0, min(share, cap))
    return plan
