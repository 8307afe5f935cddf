"""A Case is one cell of the benchmark matrix; the matrix is built from the user's selection."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

# What `--frameworks` selects by default: Keras on TensorFlow ("keras") and PyTorch.
FRAMEWORKS: tuple[str, ...] = ("keras", "torch")
# Keras 3 on another backend is another program (another compiler, another runtime), so it is a
# framework of its own: its case ids, and so its history and baseline, never mix with Keras on
# TensorFlow's. Selected by name, or by KERAS_BACKEND for `keras` (see `keras_framework`).
KERAS_BACKEND_FRAMEWORKS: dict[str, str] = {"jax": "keras_jax", "torch": "keras_torch"}
ALL_FRAMEWORKS: tuple[str, ...] = FRAMEWORKS + tuple(KERAS_BACKEND_FRAMEWORKS.values())
DEVICES: tuple[str, ...] = ("cpu", "cuda")
MODES: tuple[str, ...] = ("infer", "train", "fit")
# Each framework's idiomatic fast paths (DESIGN decision 2), its default first. Keras: `graph`
# is a tf.function, `xla` the same with jit_compile=True. PyTorch: `eager`, and `compile`
# (torch.compile of the model).
FRAMEWORK_VARIANTS: dict[str, tuple[str, ...]] = {
    "keras": ("graph", "xla"),
    "torch": ("eager", "compile"),
    # Keras' own compiled paths on its other backends; the runner says where one cannot run.
    "keras_jax": ("graph", "xla"),
    "keras_torch": ("graph", "xla"),
}
VARIANTS: tuple[str, ...] = tuple(
    dict.fromkeys(v for vs in FRAMEWORK_VARIANTS.values() for v in vs)
)
DEFAULT_VARIANTS: tuple[str, ...] = tuple(
    dict.fromkeys(vs[0] for vs in FRAMEWORK_VARIANTS.values())
)
# The Keras-vs-PyTorch pairs: the variant at the same position of each framework's list,
# named by that position (graph vs eager is "default", xla vs compile is "compiled").
PAIRS: tuple[str, ...] = ("default", "compiled")
# fp32: float32 everywhere, TF32 off on both sides; bf16: mixed precision (bfloat16 compute,
# float32 weights), Keras' "mixed_bfloat16" policy and PyTorch's autocast.
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")
# Model sizes: `tiny` is the zoo's CPU-sized configuration of every model; `full` the size of
# real work (ResNet-50 at 224x224, a GPT-2-small-shaped language model), for GPU runners.
SIZES: tuple[str, ...] = ("tiny", "full")
TINY = SIZES[0]
# How a case id looks, for error messages.
ID_FORMAT = (
    "model-framework-variant-device-mode-precision-bN, e.g. mlp-keras-graph-cpu-infer-fp32-b64; "
    "sizes other than tiny ride on the model: resnet.full-torch-eager-cuda-train-bf16-b16"
)


@dataclass(frozen=True, order=True)
class Case:
    """model x framework x device x mode x batch size x variant x precision x size.

    `variant` defaults to the framework's default variant (graph, eager), `precision` to fp32,
    `size` to tiny.
    """

    model: str
    framework: str
    device: str
    mode: str
    batch: int
    variant: str = ""
    precision: str = "fp32"
    size: str = TINY

    def __post_init__(self) -> None:
        if not self.variant:
            if self.framework not in FRAMEWORK_VARIANTS:
                raise ValueError(f"unknown framework {self.framework!r}: no default variant")
            object.__setattr__(self, "variant", FRAMEWORK_VARIANTS[self.framework][0])

    @property
    def sized_model(self) -> str:
        """The model and its size as ids show them: ``resnet`` (tiny), ``resnet.full``.

        Tiny adds nothing, so ids, run files and baselines from before the size axis still
        match; another size rides on the model segment, so ids keep their seven segments.
        """
        return self.model if self.size == TINY else f"{self.model}.{self.size}"

    @property
    def id(self) -> str:
        """Readable pytest id, e.g. ``mlp-keras-xla-cpu-infer-fp32-b64``.

        The batch stays last so globs written for the first id format (``*-b1``) still match.
        """
        return (
            f"{self.sized_model}-{self.framework}-{self.variant}-{self.device}-{self.mode}"
            f"-{self.precision}-b{self.batch}"
        )

    @property
    def pair(self) -> str:
        """Which Keras-vs-PyTorch pair the variant belongs to ("default" or "compiled")."""
        variants = FRAMEWORK_VARIANTS.get(self.framework, (self.variant,))
        index = variants.index(self.variant) if self.variant in variants else 0
        return PAIRS[index] if index < len(PAIRS) else self.variant

    @property
    def group(self) -> str:
        """The case without framework and variant: the Keras/PyTorch pair compared.

        Keras graph is paired with PyTorch eager (each framework's default), Keras xla with
        PyTorch compile (each one's whole-model compiler), at the same precision.
        """
        return (
            f"{self.sized_model}-{self.pair}-{self.device}-{self.mode}-{self.precision}"
            f"-b{self.batch}"
        )

    @classmethod
    def from_id(cls, case_id: str) -> Case:
        """Inverse of `id`; raises ValueError on a malformed id."""
        parts = case_id.split("-")
        if len(parts) != 7 or not parts[6].startswith("b") or not parts[6][1:].isdigit():
            raise ValueError(f"not a case id: {case_id!r} (expected {ID_FORMAT})")
        sized_model, framework, variant, device, mode, precision, batch = parts
        model, _, size = sized_model.partition(".")
        return cls(model, framework, device, mode, int(batch[1:]), variant, precision, size or TINY)


def keras_framework(backend: str | None) -> str:
    """The framework value of Keras on `backend` (KERAS_BACKEND; unset or tensorflow: "keras")."""
    if backend in (None, "", "tensorflow"):
        return "keras"
    if backend not in KERAS_BACKEND_FRAMEWORKS:
        choices = ", ".join(["tensorflow", *KERAS_BACKEND_FRAMEWORKS])
        raise ValueError(
            f"unknown Keras backend {backend!r}; set KERAS_BACKEND to one of {choices}"
        )
    return KERAS_BACKEND_FRAMEWORKS[backend]


def keras_backend(framework: str) -> str | None:
    """The Keras backend a framework value runs on; None for a framework that is not Keras."""
    if framework == "keras":
        return "tensorflow"
    by_framework = {f: backend for backend, f in KERAS_BACKEND_FRAMEWORKS.items()}
    return by_framework.get(framework)


def reference_framework(framework: str) -> str:
    """Whose stored reference outputs a framework is checked against: every Keras backend
    must compute what Keras on TensorFlow computes."""
    return "keras" if keras_backend(framework) else framework


def migrate_case_id(old_id: str) -> str:
    """A schema-1 id (``mlp-keras-cpu-infer-b64``) in today's format: default variant, fp32."""
    parts = old_id.split("-")
    if len(parts) != 5 or not parts[4].startswith("b") or not parts[4][1:].isdigit():
        raise ValueError(f"not a schema-1 case id: {old_id!r} (expected model-fw-device-mode-bN)")
    model, framework, device, mode, batch = parts
    return Case(model, framework, device, mode, int(batch[1:])).id


def unsupported(case: Case) -> str | None:
    """Why the harness does not benchmark `case` anywhere, or None.

    Framework- and machine-specific reasons (no GPU, torch.compile cannot build here) come
    from the runner when the case runs.
    """
    if case.variant not in FRAMEWORK_VARIANTS.get(case.framework, ()):
        return f"{case.framework} has no variant {case.variant!r}"
    if case.precision == "bf16" and case.device != "cuda":
        # Both frameworks can run bf16 on a CPU, but its speed depends on bf16 instructions
        # (AVX512-BF16, AMX) that most CPUs lack, where it is emulated: not a useful figure.
        return "bf16 mixed precision is benchmarked on CUDA only"
    if case.mode == "fit" and case.size != TINY:
        return "fit runs tiny sizes only: its data set (digits) is 8x8 images"
    return None


@dataclass(frozen=True)
class Selection:
    """What the user asked to run; every field is a non-empty tuple of valid values."""

    models: tuple[str, ...]
    frameworks: tuple[str, ...]
    devices: tuple[str, ...]
    modes: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    # Variants of any framework; each framework runs those of its own that are listed.
    variants: tuple[str, ...] = DEFAULT_VARIANTS
    precisions: tuple[str, ...] = ("fp32",)
    # Sizes on CUDA, and on the CPU (None: `sizes`); full sizes take seconds per step on a CPU,
    # so profiles run them there only when --sizes asks.
    sizes: tuple[str, ...] = (TINY,)
    cpu_sizes: tuple[str, ...] | None = None
    # The sizes each model exists in beyond tiny; a model not listed has tiny only.
    model_sizes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Batch sizes of non-tiny cases (None: `batch_sizes`): a GPT-2-sized step at batch 256
    # needs more memory than most GPUs have.
    large_batch_sizes: tuple[int, ...] | None = None

    def wants(self, model: str, device: str, size: str, batch: int) -> bool:
        """Whether the matrix holds `model` at `size` on `device` at batch size `batch`."""
        if size not in self.model_sizes.get(model, (TINY,)):
            return False
        on_device = (self.cpu_sizes or self.sizes) if device == "cpu" else self.sizes
        if size not in on_device:
            return False
        large = self.large_batch_sizes or self.batch_sizes
        return batch in (self.batch_sizes if size == TINY else large)


def build_matrix(selection: Selection) -> list[Case]:
    """All selected cases, grouped by framework then device.

    Frameworks are never interleaved: alternating Keras and PyTorch calls make their thread
    pools fight and slow both down (docs/measurements.md).
    """
    batch_sizes = tuple(dict.fromkeys(selection.batch_sizes + (selection.large_batch_sizes or ())))
    product = itertools.product(
        selection.frameworks,
        selection.devices,
        selection.models,
        SIZES,
        selection.modes,
        batch_sizes,
        selection.variants,
        selection.precisions,
    )
    return [
        Case(model=m, framework=f, device=d, mode=mode, batch=b, variant=v, precision=p, size=s)
        for f, d, m, s, mode, b, v, p in product
        if v in FRAMEWORK_VARIANTS[f] and selection.wants(m, d, s, b)
    ]


def execution_order(case: Case) -> tuple[str, str]:
    """Sort key that keeps each framework's (and device's) cases in one stretch."""
    return (case.framework, case.device)
