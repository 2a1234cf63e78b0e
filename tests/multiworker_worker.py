"""One worker of test_distribution's MultiWorkerMirroredStrategy run (not a test module).

Usage: TF_CONFIG=... python multiworker_worker.py fit|allreduce OUT.npz

fit: builds the same small model as every other worker (same seed) under the strategy's
scope, trains it for 2 epochs with ``train.fit`` on the same arrays, and writes the start and
final weights, the losses and the number of replicas to OUT.npz.

allreduce: no Keras at all, only the collective: each worker contributes index + 1 to a
SUM all-reduce over gRPC; writes the sum and the number of replicas.

keras: the same model and data through Keras' own ``compile`` and ``fit``, without
mapping_lib's trainer (and so without its workaround in ``mapping_lib.train_steps``); writes
"ok" or the error it raised. Tells when Keras has fixed keras-team/keras#20585.
"""

import json
import os
import sys

import tensorflow as tf

# The strategy must exist before TensorFlow runs anything else.
strategy = tf.distribute.MultiWorkerMirroredStrategy()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from mapping_lib import losses, optim, train  # noqa: E402


def all_reduce(out_path: str) -> None:
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]

    @tf.function
    def contribution():
        return strategy.run(lambda: tf.constant(index + 1.0))

    total = strategy.reduce(tf.distribute.ReduceOp.SUM, contribution(), axis=None)
    np.savez(out_path, total=np.array(float(total)),
             replicas=np.array(strategy.num_replicas_in_sync))  # fmt: skip
    print(f"worker {index} done: sum {float(total)}", flush=True)


def data_and_model() -> tuple[np.ndarray, np.ndarray, keras.Model]:
    """The same arrays and starting weights on every worker; the model in the scope."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(2)]
        )
    return x, y, model


def fit(out_path: str) -> None:
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    x, y, model = data_and_model()
    with strategy.scope():
        optimizer = optim.SGD(0.5, momentum=0.9)
    start = model.get_weights()
    history = train.fit(
        model, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=optimizer, epochs=2, batch_size=16, seed=1, progress=False,
    )  # fmt: skip
    arrays = {f"weight_{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update({f"start_{i}": w for i, w in enumerate(start)})
    np.savez(
        out_path, loss=np.array(history.history["loss"]),
        replicas=np.array(strategy.num_replicas_in_sync), **arrays,
    )  # fmt: skip
    print(f"worker {task['index']} done: loss {history.history['loss']}", flush=True)


def keras_fit(out_path: str) -> None:
    x, y, model = data_and_model()
    with strategy.scope():
        model.compile(
            optimizer=keras.optimizers.SGD(0.5),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    try:
        model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
        outcome = "ok"
    except Exception as error:  # the message is the result
        outcome = f"{type(error).__name__}: {error}"
    np.savez(out_path, outcome=np.array(outcome))
    print(f"keras fit: {outcome[:300]}", flush=True)


if __name__ == "__main__":
    {"fit": fit, "allreduce": all_reduce, "keras": keras_fit}[sys.argv[1]](sys.argv[2])
