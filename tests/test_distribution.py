"""``train.fit`` under tf.distribute: MirroredStrategy on two logical CPUs, and
MultiWorkerMirroredStrategy with two worker processes talking gRPC on 127.0.0.1.

Each runs in fresh Python processes: logical CPUs and a multi-worker cluster must be set up
before TensorFlow initialises, which in the test process has long happened.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "multiworker_worker.py"
TIMEOUT_S = 180
WORKERS_TIMEOUT_S = 120  # both workers of one run together; a run takes about 10 s


def child_env(**extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", **extra}
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


MIRRORED = textwrap.dedent(
    """
    import json, sys
    from mapping_lib import device
    print(json.dumps({"devices": device.split_cpu(2)}))  # before anything touches TF

    import keras
    import numpy as np
    import tensorflow as tf
    from mapping_lib import layers, losses, optim, train

    def mlp(library):
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((3,)), library.Dense(5, activation="tanh"),
                                 library.Dense(2)])

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    strategy = device.strategy()
    report = {"strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync}
    for manual, library in ((False, keras.layers), (True, layers)):
        single = mlp(library)
        start = single.get_weights()
        with strategy.scope():
            mirrored = mlp(library)
        mirrored.set_weights(start)
        # One step on one global batch of 16: 8 examples per replica, gradients summed.
        runs = {}
        for name, model in (("single", single), ("mirrored", mirrored)):
            with model.distribute_strategy.scope():  # as Keras wants its optimizer made
                optimizer = optim.SGD(0.5, momentum=0.9)
            history = train.fit(model, x, y, loss=loss, optimizer=optimizer, epochs=1,
                                batch_size=16, shuffle=False, manual=manual, progress=False)
            runs[name] = (history.history["loss"][0], model.get_weights())
        report[f"manual={manual}"] = {
            "loss_single": runs["single"][0],
            "loss_mirrored": runs["mirrored"][0],
            "moved": max(float(np.abs(a - b).max()) for a, b in zip(runs["single"][1], start)),
            "max_difference": max(float(np.abs(a - b).max())
                                  for a, b in zip(runs["single"][1], runs["mirrored"][1])),
        }
        with strategy.scope():
            longer = mlp(library)
            adam = optim.Adam(0.05)
        history = train.fit(longer, x, y, loss=loss, optimizer=adam, epochs=8, batch_size=4,
                            manual=manual, progress=False)
        report[f"manual={manual}"]["by_name"] = train.fit(
            longer, x, y, loss=loss, optimizer="adam", progress=False).history["loss"]
        report[f"manual={manual}"]["losses"] = history.history["loss"]
        report[f"manual={manual}"]["trainer_strategy"] = type(
            history.model.distribute_strategy).__name__
    try:
        train.fit(longer, x, y, loss=loss, optimizer=optim.Adam(), progress=False)
    except ValueError as error:
        report["outside_scope_error"] = str(error)
    print("REPORT " + json.dumps(report))
    """
)


def report_of(completed):
    lines = [line for line in completed.stdout.splitlines() if line.startswith("REPORT ")]
    assert completed.returncode == 0 and lines, (
        f"exit {completed.returncode}\nstdout:\n{completed.stdout[-3000:]}\n"
        f"stderr:\n{completed.stderr[-6000:]}"
    )
    return json.loads(lines[-1][len("REPORT ") :])


def test_mirrored_strategy_on_two_cpus_steps_like_one_device():
    completed = subprocess.run(
        [sys.executable, "-c", MIRRORED], capture_output=True, text=True, timeout=TIMEOUT_S,
        env=child_env(), cwd=ROOT,
    )  # fmt: skip
    report = report_of(completed)
    assert report["strategy"] == "MirroredStrategy" and report["replicas"] == 2
    for manual in (False, True):
        run = report[f"manual={manual}"]
        assert run["trainer_strategy"] == "MirroredStrategy"
        assert run["moved"] > 1e-3  # the step did change the weights
        assert run["max_difference"] < 1e-5, run  # ... and the same way on both setups
        assert run["loss_mirrored"] == pytest.approx(run["loss_single"], rel=1e-5)
        assert run["losses"][-1] < 0.5 * run["losses"][0]
        assert len(run["by_name"]) == 1  # a name makes the optimizer in the model's scope
    assert "optimizer was created outside the MirroredStrategy scope" in report.get(
        "outside_scope_error", ""
    )


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def run_two_workers(mode, directory, timeout_s=WORKERS_TIMEOUT_S):
    """Run two workers of multiworker_worker.py on 127.0.0.1, both within ``timeout_s``
    seconds in all; return (exit codes, logs). Whatever still runs is killed at the end."""
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers, logs = [], []
    deadline = time.monotonic() + timeout_s
    try:
        for index in range(2):
            config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
            log = open(directory / f"{mode}{index}.log", "w")  # closed in the finally below
            logs.append(log)
            workers.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), mode, str(directory / f"{mode}{index}.npz")],
                    env=child_env(TF_CONFIG=json.dumps(config)), cwd=ROOT,
                    stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
            )
        codes = []
        for worker in workers:
            try:
                codes.append(worker.wait(timeout=max(deadline - time.monotonic(), 0.1)))
            except subprocess.TimeoutExpired:
                codes.append("timeout")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        for log in logs:
            log.close()
    return codes, [(directory / f"{mode}{index}.log").read_text() for index in range(2)]


def failure(codes, outputs):
    return f"exit codes {codes}\n" + "\n----\n".join(o[-4000:] for o in outputs)


def test_two_workers_all_reduce_over_grpc_on_localhost(tmp_path):
    """The collective itself, without Keras: tells a sandbox problem from a Keras one."""
    codes, outputs = run_two_workers("allreduce", tmp_path)
    assert codes == [0, 0], failure(codes, outputs)
    for index in range(2):
        result = np.load(tmp_path / f"allreduce{index}.npz")
        assert result["replicas"] == 2
        assert float(result["total"]) == 3.0  # 1 + 2, summed across the two processes


def test_multi_worker_mirrored_strategy_trains_two_workers_to_the_same_weights(tmp_path):
    """train.fit with MultiWorkerMirroredStrategy: two processes, one all-reduced training."""
    codes, outputs = run_two_workers("fit", tmp_path)
    assert codes == [0, 0], failure(codes, outputs)

    results = [np.load(tmp_path / f"fit{index}.npz") for index in range(2)]
    for result in results:
        assert result["replicas"] == 2  # one replica per worker, in sync
    start = results[0]["start_0"]
    assert np.abs(results[0]["weight_0"] - start).max() > 1e-3  # training moved the weights
    assert set(results[0].files) == set(results[1].files)
    for name in results[0].files:  # starting and final weights, losses: bit for bit
        np.testing.assert_array_equal(results[0][name], results[1][name], err_msg=name)
    losses = results[0]["loss"]
    assert len(losses) == 2 and np.all(np.isfinite(losses)) and losses[1] < losses[0]


# What Keras 3.15's TensorFlow trainer does under MultiWorkerMirroredStrategy (and so for
# any model.fit there), which mapping_lib.train_steps works around: before the first step,
# _maybe_symbolic_build calls strategy.reduce("MEAN", (x, y)) on the PerReplica batch, which
# CollectiveAllReduceStrategy cannot convert; bypassing that, reduce_per_replica reduces the
# scalar logs with strategy.reduce("MEAN", v, axis=0) and fails on their missing axis.
# keras-team/keras#20585, tensorflow/tensorflow#72388.
KERAS_MULTI_WORKER_BUGS = (
    "with an unsupported type (<class 'tensorflow.python.distribute.values.PerReplica'>)",
    "Invalid reduction dimension 0 for input with 0 dimensions",
)


def test_keras_own_fit_still_needs_the_multi_worker_workaround(tmp_path):
    """Fails once Keras' own Model.fit works under MultiWorkerMirroredStrategy: then delete
    the WORKAROUND in mapping_lib/train_steps.py (it says what) and this test."""
    codes, outputs = run_two_workers("keras", tmp_path)
    assert codes == [0, 0], failure(codes, outputs)
    outcomes = [str(np.load(tmp_path / f"keras{index}.npz")["outcome"]) for index in range(2)]
    assert outcomes != ["ok", "ok"], (
        "Keras' own Model.fit now runs under MultiWorkerMirroredStrategy "
        "(keras-team/keras#20585 fixed?): delete the WORKAROUND in mapping_lib/train_steps.py"
    )
    for outcome in outcomes:
        assert any(signature in outcome for signature in KERAS_MULTI_WORKER_BUGS), outcome
