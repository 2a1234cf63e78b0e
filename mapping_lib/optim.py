"""Optimizers: how a gradient becomes a step that changes the weights.

``SGD`` (plain, momentum, Nesterov) and ``Adam`` with their update rules written out. They
produce the same numbers as ``keras.optimizers.SGD``/``Adam`` given the same gradients, and
use the same interface: ``optimizer.apply_gradients(zip(grads, variables))``.

Optional weight penalties use the ``keras.regularizers.L1L2`` convention: the penalty
l1 * sum|w| + l2 * sum(w^2) adds l1 * sign(w) + 2 * l2 * w to each gradient before the update.

State lives in ``tf.Variable``s so that a compiled (``tf.function``) training step can read
and change it: ``learning_rate`` (float32, settable: ``opt.learning_rate = 0.01`` or
``opt.learning_rate.assign(0.01)``), ``iterations`` (int64, steps taken) and per-variable
slots (momentum buffers, Adam's moments).

Slot creation is lazy: a variable's slots are created the first time it receives a
gradient. TensorFlow allows ``tf.Variable`` creation during the *first* trace of a
``tf.function`` (it lifts the variables out of the graph), so the first ``apply_gradients``
call may happen inside a compiled training step; no set-up call is needed. The one case this
cannot cover is a ``tf.function`` that is traced again and then meets variables it has not
seen before (``tf.init_scope`` does not help: tf.function's rule still applies inside it).
For that case ``build(variables)`` creates the slots eagerly; call it before tracing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
import tensorflow as tf

from mapping_lib._checks import in_range, non_negative_float, one_of, positive_float

Variable = tf.Variable | keras.Variable


def _new_variable(initial_value: Any, dtype: Any, name: str) -> tf.Variable:
    return tf.Variable(initial_value, dtype=dtype, trainable=False, name=name)


class Optimizer:
    """Shared machinery: learning rate, step counter, penalties and slots.

    Subclasses name their slots in ``slot_names`` and write ``_update(variable, gradient,
    slots, learning_rate)``; the gradient they get already includes the penalty terms.
    """

    slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: float, l1: float, l2: float) -> None:
        self._learning_rate = _new_variable(
            positive_float("learning_rate", learning_rate), tf.float32, "learning_rate"
        )
        self.iterations = _new_variable(0, tf.int64, "iterations")
        self.l1 = non_negative_float("l1", l1)
        self.l2 = non_negative_float("l2", l2)
        # id(variable) -> (variable, slots); keeping the variable alive keeps its id unique.
        self._slots: dict[int, tuple[Variable, dict[str, tf.Variable]]] = {}

    @property
    def learning_rate(self) -> tf.Variable:
        """The step size, a float32 ``tf.Variable`` (schedules assign to it)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate.assign(positive_float("learning_rate", value))

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> tf.Variable:
        """Update each variable from its gradient; pairs whose gradient is None are skipped.

        Returns ``iterations``, which grows by one per call.
        """
        pairs = [_checked_pair(pair) for pair in grads_and_vars]
        pairs = [(gradient, variable) for gradient, variable in pairs if gradient is not None]
        if not pairs:
            raise ValueError(
                "grads_and_vars must contain at least one gradient that is not None, got none"
            )
        for gradient, variable in pairs:
            gradient = tf.cast(tf.convert_to_tensor(gradient), variable.dtype)
            if not gradient.shape.is_compatible_with(variable.shape):
                raise ValueError(
                    f"gradient for variable {variable.name!r} must have shape "
                    f"{tuple(variable.shape)}, got {tuple(gradient.shape)}"
                )
            gradient = self._with_penalty(gradient, variable)
            learning_rate = tf.cast(self._learning_rate, variable.dtype)
            self._update(variable, gradient, self._slots_for(variable), learning_rate)
        self.iterations.assign_add(1)
        return self.iterations

    def _with_penalty(self, gradient: tf.Tensor, variable: Variable) -> tf.Tensor:
        """g + d/dw [l1 * sum|w| + l2 * sum(w^2)] = g + l1 * sign(w) + 2 * l2 * w."""
        weights = tf.convert_to_tensor(variable)
        if self.l1:
            gradient += self.l1 * tf.sign(weights)
        if self.l2:
            gradient += 2.0 * self.l2 * weights
        return gradient

    def build(self, variables: Iterable[Variable]) -> None:
        """Create the slots of ``variables`` now (only needed in the case the module doc names)."""
        for variable in variables:
            self._slots_for(_checked_variable("variables", variable))

    def _slots_for(self, variable: Variable) -> dict[str, tf.Variable]:
        key = id(variable)
        if key not in self._slots:
            try:
                slots = {
                    # A callable initial value lets tf.function lift the initialisation out.
                    name: _new_variable(
                        lambda: tf.zeros(variable.shape, variable.dtype), variable.dtype, name
                    )
                    for name in self.slot_names
                }
            except ValueError as error:
                raise ValueError(
                    f"could not create optimizer slots for variable {variable.name!r}: inside "
                    "a tf.function, variables can only be created on its first trace; call "
                    "optimizer.build(variables) before tracing"
                ) from error
            self._slots[key] = (variable, slots)
        return self._slots[key][1]

    def _update(
        self,
        variable: Variable,
        gradient: tf.Tensor,
        slots: dict[str, tf.Variable],
        learning_rate: tf.Tensor,
    ) -> None:
        raise NotImplementedError


def _checked_pair(pair: Any) -> tuple[Any, Variable]:
    try:
        gradient, variable = pair
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"grads_and_vars must yield (gradient, variable) pairs, got {type(pair).__name__}"
        ) from error
    return gradient, _checked_variable("grads_and_vars", variable)


def _checked_variable(argument: str, variable: Any) -> Variable:
    if not isinstance(variable, (tf.Variable, keras.Variable)):
        raise TypeError(
            f"{argument} must hold tf.Variable or keras.Variable objects, "
            f"got {type(variable).__name__}"
        )
    return variable


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    With learning rate eta, momentum mu and gradient g (penalties included)::

        mu = 0:   w <- w - eta * g
        mu > 0:   v <- mu * v - eta * g                 (velocity slot, starts at 0)
                  w <- w + v                            (classical momentum)
                  w <- w + mu * v - eta * g             (Nesterov: look ahead along v)

    Same as ``keras.optimizers.SGD``.
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        l1: float = 0.0,
        l2: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, l1, l2)
        self.momentum = in_range("momentum", momentum, 0.0, 1.0)
        if not isinstance(nesterov, bool):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        self.nesterov = nesterov
        self.slot_names = ("velocity",) if self.momentum else ()

    def _update(self, variable, gradient, slots, learning_rate):
        if not self.momentum:
            variable.assign_sub(learning_rate * gradient)
            return
        mu = tf.cast(self.momentum, variable.dtype)
        velocity = slots["velocity"]
        velocity.assign(mu * velocity - learning_rate * gradient)
        if self.nesterov:
            variable.assign_add(mu * velocity - learning_rate * gradient)
        else:
            variable.assign_add(velocity)


class Adam(Optimizer):
    """Adam: momentum on the gradient, scaled per weight by its recent gradient size.

    With learning rate eta, step t = iterations + 1 and gradient g (penalties included)::

        m <- m + (1 - beta_1) * (g - m)        running mean of g      (slot, starts at 0)
        v <- v + (1 - beta_2) * (g^2 - v)      running mean of g^2    (slot, starts at 0)
        alpha = eta * sqrt(1 - beta_2^t) / (1 - beta_1^t)    (undoes the bias towards 0)
        w <- w - alpha * m / (sqrt(v) + epsilon)

    Same as ``keras.optimizers.Adam`` (epsilon is added after the bias correction, as there).
    """

    slot_names = ("m", "v")

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        l1: float = 0.0,
        l2: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, l1, l2)
        self.beta_1 = in_range("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = in_range("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = positive_float("epsilon", epsilon)

    def _update(self, variable, gradient, slots, learning_rate):
        step = tf.cast(self.iterations + 1, variable.dtype)
        m, v = slots["m"], slots["v"]
        # Like Keras: 1 - beta in Python floats here, but beta^t below from beta rounded to
        # float32 (tf.cast of a Python float goes through float32). The two roundings
        # differ by ~1e-5 of a step, enough to drift from Keras if done otherwise.
        m.assign_add((gradient - m) * (1.0 - self.beta_1))
        v.assign_add((tf.square(gradient) - v) * (1.0 - self.beta_2))
        beta_1_power = tf.cast(self.beta_1, variable.dtype) ** step
        beta_2_power = tf.cast(self.beta_2, variable.dtype) ** step
        alpha = learning_rate * tf.sqrt(1.0 - beta_2_power) / (1.0 - beta_1_power)
        variable.assign_sub(alpha * m / (tf.sqrt(v) + self.epsilon))


def _momentum_sgd(**kwargs: Any) -> SGD:
    kwargs.setdefault("momentum", 0.9)
    return SGD(**kwargs)


_BY_NAME = {"sgd": SGD, "momentum": _momentum_sgd, "adam": Adam}


def get(
    name_or_obj: str | Optimizer | keras.optimizers.Optimizer, **kwargs: Any
) -> Optimizer | keras.optimizers.Optimizer:
    """Return an optimizer by name, built with ``kwargs``, or pass an optimizer through.

    Names: "sgd", "momentum" (SGD with momentum=0.9 unless given) and "adam". Optimizer
    objects, ours or Keras's, are returned unchanged.
    """
    if isinstance(name_or_obj, (Optimizer, keras.optimizers.Optimizer)):
        if kwargs:
            raise TypeError(
                "optimizer settings can only be given with an optimizer name, got an "
                f"optimizer object and {sorted(kwargs)}"
            )
        return name_or_obj
    if not isinstance(name_or_obj, str):
        raise TypeError(
            f"optimizer must be an optimizer name or object, got {type(name_or_obj).__name__}"
        )
    return _BY_NAME[one_of("optimizer", name_or_obj.lower(), _BY_NAME)](**kwargs)
