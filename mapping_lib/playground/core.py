"""The Playground's compute core: data, network, training, heatmaps and backprop traces.

No widgets here. The view calls ``step``/``run`` and reads ``heatmaps()``,
``weights()`` and ``history``; a notebook or a test can do the same without a browser.
The training loop itself, whole epochs per compiled call, is :mod:`.training`.

Conventions (the choices TensorFlow Playground leaves open):

* One *epoch* is one pass over the training points in shuffled mini-batches, like one
  tick of TensorFlow Playground's epoch counter. Every mini-batch has exactly
  ``batch_size`` points: the last one of an epoch is topped up with random training points.
* Classification: the output neuron is a logit z, trained with binary cross-entropy from
  logits (labels 0/1); the heatmap shows 2 sigmoid(z) - 1 in [-1, 1], so orange (< 0) is
  class 0 and blue (> 0) class 1. Regression: a linear output trained with mean squared error.
* The reported losses are the data loss without the penalty, on all training / test points.
* L1/L2 penalise the weights (the lines), not the biases, as in TensorFlow Playground and
  Keras' ``kernel_regularizer``: two SGD optimizers, one with ``l1``/``l2`` for the kernels.
* One seed drives everything: the data, the initial weights and the mini-batch order.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import _checks, layers, losses, optim
from mapping_lib.playground.config import PlaygroundConfig
from mapping_lib.playground.datasets import EXTENT, PlaneData, make_data
from mapping_lib.playground.features import feature_matrix, plane_grid
from mapping_lib.playground.training import EpochTrainer, shuffled_batches

MINI_RESOLUTION = 40
"""Side, in grid points, of every neuron's small heatmap."""

OUTPUT_RESOLUTION = 100
"""Side, in grid points, of the output heatmap."""

_DATA_FIELDS = ("dataset", "digits", "noise", "train_percent", "seed")
_NETWORK_FIELDS = ("features", "hidden", "activation")
_PENALTY_FIELDS = ("regularization", "regularization_rate")


@dataclass(frozen=True)
class Heatmaps:
    """Every neuron's output over the plane, row 0 at the top (largest x2).

    ``inputs``: (features, 40, 40); ``hidden``: one (units, 40, 40) array per hidden layer;
    ``output``: (100, 100) in the display convention (classification: 2 sigmoid(z) - 1);
    ``output_mini``: the same on the 40 x 40 grid, for the output node of the network picture.
    """

    inputs: np.ndarray
    hidden: list[np.ndarray]
    output: np.ndarray
    output_mini: np.ndarray


@dataclass(frozen=True)
class BackpropTrace:
    """One example's forward values and backward gradients, layer by layer.

    Lists run over the Dense layers (hidden layers, then the output layer). For the output
    layer ``activations`` holds the raw output z (the logit in classification).
    """

    point: np.ndarray
    inputs: np.ndarray
    target: float
    prediction: float
    loss: float
    activations: list[np.ndarray]
    grad_activations: list[np.ndarray]
    grad_pre_activations: list[np.ndarray]
    grad_kernels: list[np.ndarray]
    grad_inputs: np.ndarray


class PlaygroundCore:
    """Data, network and training state of one Playground.

    ``PlaygroundCore("pg1;data=xor;net=4")`` or ``PlaygroundCore(PlaygroundConfig(...))``.
    All methods are safe to call from a background thread: one lock serialises them.
    """

    def __init__(self, config: PlaygroundConfig | str | None = None) -> None:
        self._lock = threading.RLock()
        self._config = _as_config(config)
        self._new_data()

    # ----- configuration -------------------------------------------------------------------

    @property
    def config(self) -> PlaygroundConfig:
        """The current setting (immutable; change it with :meth:`configure`)."""
        return self._config

    def export(self) -> str:
        """The whole setting, seed included, as one short string."""
        return self._config.to_string()

    def load(self, text: str) -> None:
        """Start afresh from a string made by :meth:`export` (ValueError if it is invalid)."""
        config = PlaygroundConfig.from_string(text)
        with self._lock:
            self._config = config
            self._new_data()

    def configure(self, **changes: object) -> None:
        """Change settings by field name, rebuilding only what the change requires.

        New data or a new network start training over (epoch 0); a new learning rate,
        penalty or batch size carries on from the current weights, as in TensorFlow Playground.
        """
        with self._lock:
            old, new = self._config, self._config.replace(**changes)
            self._config = new
            changed = {name for name in changes if getattr(old, name) != getattr(new, name)}
            if changed & set(_DATA_FIELDS):
                self._new_data()
            elif changed & set(_NETWORK_FIELDS):
                self._new_network()
            elif changed & set(_PENALTY_FIELDS):
                self._new_optimizers()
            elif "learning_rate" in changed:
                for optimizer in self._optimizers:
                    optimizer.learning_rate = new.learning_rate

    def regenerate(self) -> None:
        """New random data (the seed moves on by one, so the export records it) and a reset."""
        # After the largest seed comes 0 again, rather than an error on the button.
        self.configure(seed=(self._config.seed + 1) % (_checks.MAX_SEED + 1))

    def reset(self) -> None:
        """Back to epoch 0: the seeded initial weights and batch order, an empty history."""
        with self._lock:
            self._new_network()

    # ----- training -------------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        """Number of epochs trained since the last reset."""
        return len(self.history["train_loss"])

    @property
    def train_loss(self) -> float:
        """Current loss on all training points."""
        return self._current_losses[0]

    @property
    def test_loss(self) -> float:
        """Current loss on all test points."""
        return self._current_losses[1]

    @property
    def diverged(self) -> bool:
        """True once the training loss is NaN or infinite (the learning rate was too high)."""
        return not np.isfinite(self.train_loss)

    def step(self) -> float:
        """Train one epoch; return the new test loss."""
        self.run(1)
        return self.test_loss

    def run(self, epochs: int) -> None:
        """Train ``epochs`` epochs in one compiled call; losses are recorded after each."""
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {epochs!r}")
        with self._lock:
            n, size = len(self.data.x_train), self._config.batch_size
            recorded = self._trainer(*self._tensors, shuffled_batches(self._rng, n, size, epochs))
            self.history["train_loss"].extend(recorded[:, 0].tolist())
            self.history["test_loss"].extend(recorded[:, 1].tolist())
            self._current_losses = tuple(recorded[-1])

    # ----- what the view draws --------------------------------------------------------------

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(kernel, bias) of every Dense layer, input side first, as NumPy arrays."""
        with self._lock:
            return [(lay.kernel.numpy(), lay.bias.numpy()) for lay in self._dense_layers]

    def heatmaps(self) -> Heatmaps:
        """Every neuron's output over the plane, from one compiled call on a fixed grid."""
        with self._lock:
            outputs = [out.numpy() for out in self._grid_outputs(self._grid)]
        mini = MINI_RESOLUTION**2

        def maps(values: np.ndarray, size: int) -> np.ndarray:
            return values.T.reshape(-1, size, size)

        hidden = [maps(out[:mini], MINI_RESOLUTION) for out in outputs[:-1]]
        shown = self._display(outputs[-1][:, 0])
        return Heatmaps(
            inputs=self._input_maps,
            hidden=hidden,
            output=shown[mini:].reshape(OUTPUT_RESOLUTION, OUTPUT_RESOLUTION),
            output_mini=shown[:mini].reshape(MINI_RESOLUTION, MINI_RESOLUTION),
        )

    def predict(self, points: np.ndarray) -> np.ndarray:
        """The network's output for plane points (n, 2), in the heatmap's display convention."""
        features = tf.constant(feature_matrix(np.asarray(points, np.float32), self.features))
        with self._lock:
            return self._display(self._grid_outputs(features)[-1].numpy()[:, 0])

    def _display(self, outputs: np.ndarray) -> np.ndarray:
        if self._config.problem == "classification":
            return np.tanh(outputs / 2)  # = 2 sigmoid(z) - 1
        return outputs

    @property
    def features(self) -> tuple[str, ...]:
        """Names of the input features the network sees."""
        return self._config.features

    @property
    def extent(self) -> float:
        """The plane shown is [-extent, extent]^2."""
        return EXTENT

    # ----- backprop mode --------------------------------------------------------------------

    def backprop(self, index: int, split: str = "train") -> BackpropTrace:
        """Forward and backward pass of one example, with the layers' hand-derived backward.

        Uses each Dense layer's ``backward``: dL/da of a layer is what the next layer's
        backward returns; with a single example, dL/dz of a neuron equals dL/d(its bias).
        """
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        data = self.data
        x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
        if not 0 <= index < len(x):
            raise ValueError(f"index must be in [0, {len(x)}) for the {split} split, got {index}")
        inputs = feature_matrix(x[index : index + 1], self.features)
        target = tf.constant([[y[index]]])
        with self._lock:
            activations = []
            out = tf.constant(inputs)
            for layer in self._dense_layers:
                out = layer(out)
                activations.append(out.numpy()[0])
            loss = float(self._loss(target, out))
            upstream = self._loss.gradient(target, out)
            grad_a, grad_z, grad_w = [], [], []
            for layer in reversed(self._dense_layers):
                grad_a.insert(0, upstream.numpy()[0])
                upstream = layer.backward(upstream)
                grad_w.insert(0, layer.grads[0].numpy())
                grad_z.insert(0, layer.grads[1].numpy())
        return BackpropTrace(
            point=x[index].copy(),
            inputs=inputs[0],
            target=float(y[index]),
            prediction=float(self._display(activations[-1])[0]),
            loss=loss,
            activations=activations,
            grad_activations=grad_a,
            grad_pre_activations=grad_z,
            grad_kernels=grad_w,
            grad_inputs=upstream.numpy()[0],
        )

    # ----- building ------------------------------------------------------------------------

    def _new_data(self) -> None:
        self.data: PlaneData = make_data(self._config)
        self._new_network()

    def _new_network(self) -> None:
        config = self._config
        units = [*config.hidden, 1]
        hidden_activation = config.activation
        self._dense_layers = [
            layers.Dense(n, activation=hidden_activation if i < len(config.hidden) else None)
            for i, n in enumerate(units)
        ]
        self.model = keras.Sequential([keras.Input((len(config.features),)), *self._dense_layers])
        for i, layer in enumerate(self._dense_layers):
            init = keras.initializers.GlorotUniform(seed=config.seed * 101 + i)
            layer.kernel.assign(init(layer.kernel.shape))
            layer.bias.assign(tf.zeros_like(layer.bias))
        self._loss = (
            losses.BinaryCrossentropy(from_logits=True)
            if config.problem == "classification"
            else losses.MeanSquaredError()
        )
        self._prepare_tensors()
        self._grid_outputs = _compiled(
            self._layer_outputs, [tf.TensorSpec([None, len(config.features)], tf.float32)]
        )
        self._rng = np.random.default_rng(config.seed)
        self.history: dict[str, list[float]] = {"train_loss": [], "test_loss": []}
        self._new_optimizers()
        self._current_losses = tuple(
            float(self._loss(y, self.model(x))) for x, y in (self._tensors[:2], self._tensors[2:])
        )

    def _prepare_tensors(self) -> None:
        names, data = self._config.features, self.data
        self._tensors = tuple(
            tf.constant(values)
            for values in (
                feature_matrix(data.x_train, names),
                data.y_train[:, None],
                feature_matrix(data.x_test, names),
                data.y_test[:, None],
            )
        )
        mini = plane_grid(EXTENT, MINI_RESOLUTION)
        full = plane_grid(EXTENT, OUTPUT_RESOLUTION)
        mini_features = feature_matrix(mini, names)
        self._input_maps = mini_features.T.reshape(-1, MINI_RESOLUTION, MINI_RESOLUTION)
        self._grid = tf.constant(np.concatenate([mini_features, feature_matrix(full, names)]))

    def _new_optimizers(self) -> None:
        config = self._config
        penalty = config.regularization_rate if config.regularization != "none" else 0.0
        l1 = penalty if config.regularization == "l1" else 0.0
        l2 = penalty if config.regularization == "l2" else 0.0
        self._optimizers = (
            optim.SGD(config.learning_rate, l1=l1, l2=l2),  # kernels
            optim.SGD(config.learning_rate),  # biases
        )
        # A new trainer per optimizer pair: l1/l2 are Python floats fixed at trace time.
        self._trainer = EpochTrainer(self._dense_layers, self._loss, *self._optimizers)

    def _layer_outputs(self, x: tf.Tensor) -> list[tf.Tensor]:
        outputs = []
        for layer in self._dense_layers:
            x = layer(x)
            outputs.append(x)
        return outputs


def _compiled(method: Callable[..., Any], signature: list[tf.TensorSpec]) -> Callable[..., Any]:
    """A tf.function of ``method`` for one network, traced once thanks to the fixed signature.

    TensorFlow's frequent-retracing detector keys on the code object, so the networks of
    successive settings (or of several cores in one notebook) would read as one function
    retraced in a loop and print a warning. A ``partial`` has no code object of its own, so
    each network's function is counted by itself.
    """
    return tf.function(functools.partial(method), input_signature=signature)


def _as_config(config: PlaygroundConfig | str | None) -> PlaygroundConfig:
    if config is None:
        return PlaygroundConfig()
    if isinstance(config, str):
        return PlaygroundConfig.from_string(config)
    if isinstance(config, PlaygroundConfig):
        return config
    raise TypeError(f"config must be a PlaygroundConfig, a config string or None, got {config!r}")
