"""Tests for mapping_lib.device: report, GPU set-up by injection, strategies, seeding."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import device

FAKE_GPU = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def float32_policy():
    yield
    keras.mixed_precision.set_dtype_policy("float32")


@pytest.fixture
def memory_growth_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(
        tf.config.experimental, "set_memory_growth", lambda gpu, on: calls.append((gpu, on))
    )
    return calls


def test_describe_is_a_dict_with_a_readable_report():
    info = device.describe()
    assert isinstance(info, dict)
    assert info["tensorflow"] == tf.__version__ and info["keras"] == keras.__version__
    assert info["cpu_cores"] >= 1
    assert any("CPU:0" in name for name in info["logical_devices"])
    report = str(info)
    assert f"TensorFlow {tf.__version__}" in report
    assert f"mixed-precision policy: {info['mixed_precision']}" in report
    assert "GPUs: " in report


def test_configure_gpu_branch_with_an_injected_device(memory_growth_calls):
    done = device.configure(gpus=[FAKE_GPU])
    assert memory_growth_calls == [(FAKE_GPU, True)]
    assert done == {
        "gpus": ["/physical_device:GPU:0"],
        "memory_growth": ["/physical_device:GPU:0"],
        "mixed_precision": "mixed_float16",
    }
    assert keras.mixed_precision.dtype_policy().name == "mixed_float16"
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    assert layer.compute_dtype == "float16" and layer.kernel.dtype == "float32"


def test_configure_can_keep_float32_on_a_gpu(memory_growth_calls):
    done = device.configure(gpus=[FAKE_GPU], mixed_precision=False)
    assert done["mixed_precision"] == "float32" and len(memory_growth_calls) == 1
    assert keras.mixed_precision.dtype_policy().name == "float32"


def test_configure_without_gpus_stays_float32(memory_growth_calls):
    assert device.configure(gpus=[]) == {
        "gpus": [],
        "memory_growth": [],
        "mixed_precision": "float32",
    }
    assert memory_growth_calls == []
    found = device.configure()  # this machine's own devices, whatever they are
    assert found["mixed_precision"] == ("mixed_float16" if found["gpus"] else "float32")


def test_configure_explains_a_gpu_that_is_already_initialised(monkeypatch):
    def too_late(gpu, on):
        raise RuntimeError("Physical devices cannot be modified after being initialized")

    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", too_late)
    with pytest.raises(RuntimeError, match="already initialised the GPU.*configure\\(\\) first"):
        device.configure(gpus=[FAKE_GPU])


def test_one_device_strategies():
    assert device.strategy().num_replicas_in_sync == len(tf.config.list_logical_devices("CPU"))
    single = device.strategy(["/CPU:0"])
    assert isinstance(single, tf.distribute.OneDeviceStrategy)
    assert single.num_replicas_in_sync == 1


def test_split_cpu_after_start_up_explains_itself():
    tf.constant(1.0)  # make sure TensorFlow has fixed its devices
    with pytest.raises(RuntimeError, match=r"split_cpu\(3\) must run before TensorFlow"):
        device.split_cpu(3)


def test_seed_everything_repeats_every_generator():
    def draw():
        layer = keras.layers.Dense(3)
        layer.build((None, 2))
        return random.random(), np.random.rand(), float(tf.random.uniform(())), layer.kernel.numpy()

    device.seed_everything(7)
    first = draw()
    device.seed_everything(7)
    second = draw()
    assert first[:3] == second[:3]
    np.testing.assert_array_equal(first[3], second[3])
    device.seed_everything(8)
    assert draw()[:3] != first[:3]


def test_seed_everything_defaults_to_the_book_seed(monkeypatch):
    monkeypatch.delenv("MAPPING_SEED", raising=False)
    assert device.book_seed() == 0 and device.seed_everything() == 0
    zero = np.random.rand()
    monkeypatch.setenv("MAPPING_SEED", " 3 ")
    assert device.seed_everything() == 3
    three = np.random.rand()
    device.seed_everything(3)
    assert np.random.rand() == three != zero
    device.seed_everything(0)
    assert np.random.rand() == zero  # an explicit seed wins over the environment


@pytest.mark.parametrize("text", ["three", "-1", "1.5", str(2**32)])
def test_a_bad_mapping_seed_is_named(monkeypatch, text):
    monkeypatch.setenv("MAPPING_SEED", text)
    with pytest.raises(ValueError, match=f"MAPPING_SEED must be .*got '{re.escape(text)}'"):
        device.seed_everything()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: device.configure(gpus="GPU:0"), TypeError, "gpus must be a list of GPU devices"),
        (
            lambda: device.configure(gpus=[tf.config.list_physical_devices("CPU")[0]]),
            ValueError,
            "gpus must contain only GPU PhysicalDevice objects",
        ),
        (
            lambda: device.configure(gpus=[], mixed_precision="yes"),
            ValueError,
            "mixed_precision must be 'auto', True or False, got 'yes'",
        ),
        (lambda: device.strategy([]), ValueError, "devices must be a non-empty list"),
        (lambda: device.strategy([42]), TypeError, "devices must be device names"),
        (lambda: device.split_cpu(0), ValueError, "n must be a positive int, got 0"),
        (lambda: device.seed_everything(-1), ValueError, "seed must be a non-negative int"),
        (lambda: device.seed_everything(1.5), TypeError, "seed must be a non-negative int"),
        (lambda: device.seed_everything(2**32), ValueError, r"seed must be .* below 2\*\*32"),
    ],
)
def test_device_functions_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import keras
    import numpy as np
    from mapping_lib import device

    names = device.split_cpu(2)
    again = device.split_cpu(2)  # same layout again: accepted, no error
    device.seed_everything(0)
    strategy = device.strategy()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32")
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    print(json.dumps({
        "names": names,
        "again": again,
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "variable_kind": type(model.layers[0].kernel.value).__name__,
        "loss": history.history["loss"],
    }))
    """
)


def test_mirrored_strategy_trains_on_two_logical_cpus():
    # Logical devices are fixed when TensorFlow starts, so this needs a fresh interpreter.
    finished = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result["names"] == ["/device:CPU:0", "/device:CPU:1"] == result["again"]
    assert result["strategy"] == "MirroredStrategy" and result["replicas"] == 2
    assert result["variable_kind"] == "MirroredVariable"
    assert result["loss"][-1] < 0.5 * result["loss"][0]
