"""Tests for mapping_lib.device: report, GPU set-up by injection, strategies, seeding."""

from __future__ import annotations

import importlib.metadata
import os
import random
import re
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from packaging.version import Version
from training_helpers import run_script

from mapping_lib import device

FAKE_GPU = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")


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


def installed_version(module):
    """The version pip recorded for the distribution that provides ``module``.

    TensorFlow ships as tensorflow, tensorflow-cpu, tf-nightly, ...: ask which one it is.
    """
    names = importlib.metadata.packages_distributions().get(module, [])
    versions = {importlib.metadata.version(name) for name in names}
    if len(versions) != 1:
        pytest.skip(f"no single installed distribution provides {module}: {sorted(names)}")
    return Version(versions.pop())


def test_describe_reports_the_installed_versions_and_this_machines_devices():
    keras.mixed_precision.set_dtype_policy("float32")  # whatever an earlier test left
    info = device.describe()
    assert isinstance(info, dict)
    assert set(info) == {
        "tensorflow", "keras", "cpu_cores", "gpus", "logical_devices", "mixed_precision"
    }  # fmt: skip
    # Versions as pip installed them, read from the package metadata, not from the modules.
    assert Version(info["tensorflow"]) == installed_version("tensorflow")
    assert Version(info["keras"]) == installed_version("keras")
    expected_devices = [found.name for found in tf.config.list_logical_devices()]
    assert info["logical_devices"] == expected_devices
    assert "/device:CPU:0" in info["logical_devices"]
    assert [gpu["name"] for gpu in info["gpus"]] == [
        gpu.name for gpu in tf.config.list_physical_devices("GPU")
    ]
    assert 1 <= info["cpu_cores"] <= (os.cpu_count() or 1)
    assert info["mixed_precision"] == "float32"
    lines = str(info).splitlines()
    assert lines[0] == f"TensorFlow {info['tensorflow']}, Keras {info['keras']}"
    assert re.fullmatch(r"TensorFlow \d+\.\d+\S*, Keras \d+\.\d+\S*", lines[0])
    assert lines[3] == "logical devices: " + ", ".join(expected_devices)


def test_describe_follows_the_dtype_policy():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    info = device.describe()
    assert info["mixed_precision"] == "mixed_bfloat16"
    assert str(info).splitlines()[-1] == "mixed-precision policy: mixed_bfloat16"


def test_describe_names_each_gpu_and_its_model(monkeypatch):
    second = tf.config.PhysicalDevice(name="/physical_device:GPU:1", device_type="GPU")
    real_list = tf.config.list_physical_devices
    models = {FAKE_GPU.name: {"device_name": "NVIDIA H200"}, second.name: {}}
    monkeypatch.setattr(
        tf.config,
        "list_physical_devices",
        lambda kind=None: [FAKE_GPU, second] if kind == "GPU" else real_list(kind),
    )
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda gpu: models[gpu.name])
    logical = ["/device:CPU:0", "/device:GPU:0", "/device:GPU:1"]
    monkeypatch.setattr(
        tf.config,
        "list_logical_devices",
        lambda kind=None: [tf.config.LogicalDevice(name, name.split(":")[-2]) for name in logical],
    )
    info = device.describe()
    assert info["logical_devices"] == logical
    assert info["gpus"] == [
        {"name": "/physical_device:GPU:0", "model": "NVIDIA H200"},
        {"name": "/physical_device:GPU:1", "model": "unknown model"},
    ]
    assert str(info).splitlines()[2] == (
        "GPUs: /physical_device:GPU:0 (NVIDIA H200), /physical_device:GPU:1 (unknown model)"
    )


def test_cpu_cores_counts_the_cores_this_process_may_use(monkeypatch):
    # In a container the affinity mask is smaller than the machine: it is the one that counts.
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 5, 7}, raising=False)
    assert device.describe()["cpu_cores"] == 3
    monkeypatch.delattr(os, "sched_getaffinity")  # as on macOS and Windows
    assert device.describe()["cpu_cores"] == 64
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # "undeterminable"
    assert device.describe()["cpu_cores"] == 1


def test_the_report_is_laid_out_line_by_line():
    info = device.DeviceInfo(
        tensorflow="2.99.0",
        keras="3.99.1",
        cpu_cores=6,
        gpus=[],
        logical_devices=["/device:CPU:0", "/device:CPU:1"],
        mixed_precision="float32",
    )
    expected = (
        "TensorFlow 2.99.0, Keras 3.99.1\n"
        "CPU cores available: 6\n"
        "GPUs: none\n"
        "logical devices: /device:CPU:0, /device:CPU:1\n"
        "mixed-precision policy: float32"
    )
    assert str(info) == expected
    shown = []

    class Printer:
        def text(self, value):
            shown.append(value)

    info._repr_pretty_(Printer(), cycle=False)  # what Jupyter displays
    assert shown == [expected]


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
    gpus = [gpu.name for gpu in tf.config.list_physical_devices("GPU")]
    assert found == {
        "gpus": gpus,
        "memory_growth": gpus,
        "mixed_precision": "mixed_float16" if gpus else "float32",
    }
    assert [gpu.name for gpu, on in memory_growth_calls if on] == gpus
    assert keras.mixed_precision.dtype_policy().name == found["mixed_precision"]


def test_configure_explains_a_gpu_that_is_already_initialised(monkeypatch):
    def too_late(gpu, on):
        raise RuntimeError("Physical devices cannot be modified after being initialized")

    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", too_late)
    with pytest.raises(RuntimeError, match="already initialised the GPU.*configure\\(\\) first"):
        device.configure(gpus=[FAKE_GPU])


def test_one_device_strategies():
    found = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    default = device.strategy()
    assert default.num_replicas_in_sync == len(found)
    if len(found) == 1:  # nothing to mirror: TensorFlow's default strategy
        assert default is tf.distribute.get_strategy()
    single = device.strategy(["/CPU:0"])
    assert isinstance(single, tf.distribute.OneDeviceStrategy)
    assert single.num_replicas_in_sync == 1
    assert single.extended.worker_devices == ("/job:localhost/replica:0/task:0/device:CPU:0",)
    named = device.strategy(tf.config.list_logical_devices("CPU")[:1])  # LogicalDevice objects
    assert named.extended.worker_devices == single.extended.worker_devices


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
    result = run_script(MIRRORED_SCRIPT, timeout=240)
    assert result["names"] == ["/device:CPU:0", "/device:CPU:1"] == result["again"]
    assert result["strategy"] == "MirroredStrategy" and result["replicas"] == 2
    assert result["variable_kind"] == "MirroredVariable"
    assert result["loss"][-1] < 0.5 * result["loss"][0]
