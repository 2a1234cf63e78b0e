"""Which hardware TensorFlow sees, and how the book sets it up.

TensorFlow fixes its devices the first time it runs anything. ``split_cpu`` and the memory
growth set by ``configure`` must therefore come before the first tensor, model or
``describe()`` call (``describe`` lists logical devices, which initialises them).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from mapping_lib import _checks


class DeviceInfo(dict):
    """A plain dict of facts about the devices whose ``str`` reads as a short report."""

    def __str__(self) -> str:
        gpus = ", ".join(f"{gpu['name']} ({gpu['model']})" for gpu in self["gpus"]) or "none"
        return "\n".join(
            [
                f"TensorFlow {self['tensorflow']}, Keras {self['keras']}",
                f"CPU cores available: {self['cpu_cores']}",
                f"GPUs: {gpus}",
                f"logical devices: {', '.join(self['logical_devices'])}",
                f"mixed-precision policy: {self['mixed_precision']}",
            ]
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Jupyter shows the readable report instead of the raw dict.
        printer.text(str(self))


def _cpu_cores() -> int:
    # In a container the affinity mask, not os.cpu_count(), says how many cores we may use.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _gpu_model(gpu: Any) -> str:
    details = tf.config.experimental.get_device_details(gpu)
    return details.get("device_name", "unknown model")


def describe() -> DeviceInfo:
    """TF and Keras versions, CPU cores, GPUs, logical devices and the mixed-precision policy.

    Initialises TensorFlow's devices, so call ``split_cpu`` and ``configure`` before it.
    """
    return DeviceInfo(
        tensorflow=tf.__version__,
        keras=keras.__version__,
        cpu_cores=_cpu_cores(),
        gpus=[
            {"name": gpu.name, "model": _gpu_model(gpu)}
            for gpu in tf.config.list_physical_devices("GPU")
        ],
        logical_devices=[device.name for device in tf.config.list_logical_devices()],
        mixed_precision=keras.mixed_precision.dtype_policy().name,
    )


def _check_gpus(gpus: Any) -> list:
    if not isinstance(gpus, (list, tuple)):
        raise TypeError(f"gpus must be a list of GPU devices or None, got {type(gpus).__name__}")
    for gpu in gpus:
        if getattr(gpu, "device_type", None) != "GPU":
            raise ValueError(f"gpus must contain only GPU PhysicalDevice objects, got {gpu!r}")
    return list(gpus)


def configure(gpus: Sequence[Any] | None = None, mixed_precision: str | bool = "auto") -> dict:
    """Turn on memory growth for each GPU and pick the Keras dtype policy.

    ``gpus`` defaults to the GPUs TensorFlow finds (pass a list to choose, or to test).
    ``mixed_precision``: "auto" uses mixed_float16 when there is a GPU, float32 otherwise;
    True or False force it. Returns what was done: ``gpus``, ``memory_growth``,
    ``mixed_precision``.
    """
    gpus = tf.config.list_physical_devices("GPU") if gpus is None else _check_gpus(gpus)
    if mixed_precision == "auto":
        use_mixed = bool(gpus)
    elif isinstance(mixed_precision, bool):
        use_mixed = mixed_precision
    else:
        raise ValueError(f"mixed_precision must be 'auto', True or False, got {mixed_precision!r}")
    for gpu in gpus:
        try:
            # Without memory growth TF reserves nearly all GPU memory at start-up, which
            # starves a second notebook or process on the same card.
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:
            raise RuntimeError(
                f"cannot set memory growth on {gpu.name}: TensorFlow has already initialised "
                "the GPU. Call mapping_lib.device.configure() first, before building any "
                "tensor or model (restart the kernel)."
            ) from error
    policy = "mixed_float16" if use_mixed else "float32"
    keras.mixed_precision.set_dtype_policy(policy)
    return {
        "gpus": [gpu.name for gpu in gpus],
        "memory_growth": [gpu.name for gpu in gpus],
        "mixed_precision": policy,
    }


def split_cpu(n: int = 2) -> list[str]:
    """Split the CPU into ``n`` logical devices, e.g. to try MirroredStrategy without GPUs.

    Must run before TensorFlow initialises its devices. Returns the logical CPU names.
    """
    n = _checks.positive_int("n", n)
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is None or len(current) != n:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
            )
        except RuntimeError as error:
            raise RuntimeError(
                f"split_cpu({n}) must run before TensorFlow initialises its devices (before "
                "any tensor, model or describe() call); restart the kernel and call it first"
            ) from error
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def _device_name(device: Any) -> str:
    name = device if isinstance(device, str) else getattr(device, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(
            f"devices must be device names like '/CPU:0' or LogicalDevice objects, got {device!r}"
        )
    return name


def strategy(devices: Sequence[Any] | None = None) -> tf.distribute.Strategy:
    """MirroredStrategy over ``devices`` when there are several, else a one-device strategy.

    ``devices`` defaults to all logical GPUs, or all logical CPUs when there is no GPU.
    """
    if devices is None:
        found = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        names = [device.name for device in found]
    elif isinstance(devices, (list, tuple)) and devices:
        names = [_device_name(device) for device in devices]
    else:
        raise ValueError(f"devices must be a non-empty list of devices or None, got {devices!r}")
    if len(names) > 1:
        return tf.distribute.MirroredStrategy(devices=names)
    if devices is None:
        return tf.distribute.get_strategy()
    return tf.distribute.OneDeviceStrategy(names[0])


SEED_VARIABLE = "MAPPING_SEED"


def book_seed() -> int:
    """The seed the whole book runs with: ``$MAPPING_SEED`` when it is set, else 0.

    Rebuild the book with another seed by setting it, e.g. ``MAPPING_SEED=3 make book``:
    every trained result then changes, and every claim the chapters assert must still hold.
    """
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return 0
    try:
        seed = int(text)
    except ValueError:
        raise ValueError(
            f"{SEED_VARIABLE} must be a non-negative integer, got {text!r}"
        ) from None
    if not 0 <= seed <= _checks.MAX_SEED:  # the range seed_everything(seed) accepts
        raise ValueError(f"{SEED_VARIABLE} must be an integer from 0 to 2**32 - 1, got {text!r}")
    return seed


def seed_everything(seed: int | None = None) -> int:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic; safe to call again.

    Args:
        seed: the seed, from 0 to 2**32 - 1; ``None`` (the default) takes the book's seed
            from ``book_seed()``.

    Returns:
        The seed that was used.
    """
    seed = book_seed() if seed is None else _checks.seed("seed", seed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()  # a no-op when already enabled
    return seed
