"""Optimizers: several steps against keras.optimizers on the same gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import optim

SHAPES = [(3, 4), (4,)]
STEPS = 5


def initial_weights(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype("float32") for shape in SHAPES]


def gradient_sequence(seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=shape).astype("float32") for shape in SHAPES] for _ in range(STEPS)]


def run(optimizer, variable_type=tf.Variable, lr_schedule=None):
    """Apply the gradient sequence; optionally set the learning rate before some steps."""
    variables = [variable_type(w) for w in initial_weights()]
    for step, grads in enumerate(gradient_sequence()):
        if lr_schedule and step in lr_schedule:
            optimizer.learning_rate = lr_schedule[step]
        optimizer.apply_gradients(zip(grads, variables))
    return [v.numpy() for v in variables]


def assert_same_weights(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


SGD_VARIANTS = [
    dict(momentum=0.0, nesterov=False),
    dict(momentum=0.9, nesterov=False),
    dict(momentum=0.5, nesterov=True),
]


@pytest.mark.parametrize("variant", SGD_VARIANTS)
def test_sgd_matches_keras(variant):
    ours = run(optim.SGD(learning_rate=0.1, **variant))
    theirs = run(keras.optimizers.SGD(learning_rate=0.1, **variant), keras.Variable)
    assert_same_weights(ours, theirs)
    assert not np.allclose(ours[0], initial_weights()[0])  # the weights did move


@pytest.mark.parametrize(
    "settings",
    [dict(), dict(learning_rate=0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-3)],
)
def test_adam_matches_keras(settings):
    ours = run(optim.Adam(**settings))
    theirs = run(keras.optimizers.Adam(**settings), keras.Variable)
    assert_same_weights(ours, theirs)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: optim.SGD(0.1, momentum=0.9), lambda: keras.optimizers.SGD(0.1, momentum=0.9)),
        (lambda: optim.Adam(0.1), lambda: keras.optimizers.Adam(0.1)),
    ],
)
def test_learning_rate_changes_between_steps_match_keras(ours, theirs):
    schedule = {2: 0.02, 4: 0.3}
    ours = run(ours(), lr_schedule=schedule)
    assert_same_weights(ours, run(theirs(), keras.Variable, lr_schedule=schedule))


def test_state_variables():
    optimizer = optim.Adam()
    assert isinstance(optimizer.learning_rate, tf.Variable)
    assert optimizer.learning_rate.dtype == tf.float32
    assert optimizer.iterations.dtype == tf.int64
    optimizer.learning_rate.assign(0.25)
    assert optimizer.learning_rate.numpy() == pytest.approx(0.25)
    run(optimizer)
    assert int(optimizer.iterations) == STEPS


@pytest.mark.parametrize("l1, l2", [(0.01, 0.0), (0.0, 0.05), (0.02, 0.03)])
@pytest.mark.parametrize(
    "make", [lambda **kw: optim.SGD(0.1, momentum=0.9, **kw), lambda **kw: optim.Adam(0.1, **kw)]
)
def test_penalty_gradient_is_that_of_keras_l1l2(make, l1, l2):
    """A penalised step equals an unpenalised step on g + d/dw L1L2(l1, l2)(w)."""
    regularizer = keras.regularizers.L1L2(l1=l1, l2=l2)
    penalised, plain = make(l1=l1, l2=l2), make()
    with_penalty = [tf.Variable(w) for w in initial_weights()]
    by_hand = [tf.Variable(w) for w in initial_weights()]
    for grads in gradient_sequence():
        penalised.apply_gradients(zip(grads, with_penalty))
        with tf.GradientTape() as tape:
            penalty = tf.add_n([regularizer(v) for v in by_hand])
        penalty_grads = tape.gradient(penalty, by_hand)
        plain.apply_gradients([(g + p, v) for g, p, v in zip(grads, penalty_grads, by_hand)])
    assert_same_weights([v.numpy() for v in with_penalty], [v.numpy() for v in by_hand])


def test_penalty_arguments_reach_the_update():
    weights = np.array([2.0, -1.0, 0.0], "float32")
    variable = tf.Variable(weights)
    optim.SGD(learning_rate=0.5, l1=0.1, l2=0.2).apply_gradients([(tf.zeros(3), variable)])
    expected = weights - 0.5 * (0.1 * np.sign(weights) + 2 * 0.2 * weights)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-6)


def test_none_gradients_are_skipped():
    optimizer = optim.SGD(learning_rate=1.0)
    moved, untouched = tf.Variable([1.0, 2.0]), tf.Variable([3.0])
    optimizer.apply_gradients(zip([tf.constant([1.0, 1.0]), None], [moved, untouched]))
    np.testing.assert_allclose(moved.numpy(), [0.0, 1.0])
    np.testing.assert_allclose(untouched.numpy(), [3.0])


@pytest.mark.parametrize(
    "make",
    [lambda: optim.SGD(0.1), lambda: optim.SGD(0.1, momentum=0.9, nesterov=True), optim.Adam],
)
def test_first_step_inside_tf_function_matches_eager(make):
    eager_optimizer, compiled_optimizer = make(), make()
    eager_vars = [tf.Variable(w) for w in initial_weights()]
    compiled_vars = [tf.Variable(w) for w in initial_weights()]

    @tf.function
    def step(grads):
        compiled_optimizer.apply_gradients(zip(grads, compiled_vars))

    for grads in gradient_sequence():
        eager_optimizer.apply_gradients(zip(grads, eager_vars))
        step([tf.constant(g) for g in grads])
    assert_same_weights([v.numpy() for v in compiled_vars], [v.numpy() for v in eager_vars])
    assert int(compiled_optimizer.iterations) == STEPS


def test_new_variable_in_a_retraced_function_needs_build():
    first, second = tf.Variable([1.0]), tf.Variable([[1.0, 2.0]])

    def make_step(optimizer):
        @tf.function
        def step(variable):
            optimizer.apply_gradients([(tf.ones_like(variable), variable)])

        return step

    unbuilt = make_step(optim.SGD(0.1, momentum=0.9))
    unbuilt(first)
    with pytest.raises(ValueError, match=r"call optimizer.build\(variables\) before tracing"):
        unbuilt(second)  # a second trace meets a variable without slots

    optimizer = optim.SGD(0.1, momentum=0.9)
    optimizer.build([first, second])
    step = make_step(optimizer)
    step(first)
    step(second)
    np.testing.assert_allclose(first.numpy(), [0.8], rtol=1e-6)  # one step from each optimizer
    np.testing.assert_allclose(second.numpy(), [[0.9, 1.9]], rtol=1e-6)


def test_keras_model_trains_with_a_tape_and_our_optimizer():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    x = tf.random.stateless_normal((64, 2), seed=(0, 3))
    y = x @ tf.constant([[2.0], [-1.0]]) + 0.5
    optimizer = optim.get("adam", learning_rate=0.1)

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    first = float(train_step())
    for _ in range(100):
        last = float(train_step())
    assert last < 0.01 * first


def test_get_by_name_and_pass_through():
    assert type(optim.get("sgd")) is optim.SGD
    momentum = optim.get("momentum")
    assert momentum.momentum == pytest.approx(0.9)
    assert optim.get("momentum", momentum=0.5).momentum == pytest.approx(0.5)
    adam = optim.get("Adam", learning_rate=0.01, beta_1=0.8)
    assert isinstance(adam, optim.Adam) and adam.beta_1 == pytest.approx(0.8)
    assert adam.learning_rate.numpy() == pytest.approx(0.01)
    assert optim.get(adam) is adam
    keras_sgd = keras.optimizers.SGD()
    assert optim.get(keras_sgd) is keras_sgd


def set_learning_rate(optimizer, value):
    optimizer.learning_rate = value


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: optim.SGD(learning_rate=0), ValueError, "learning_rate must be a positive"),
        (lambda: optim.SGD(learning_rate="0.1"), TypeError, "learning_rate must be a positive"),
        (lambda: optim.Adam(learning_rate=-1e-3), ValueError, "learning_rate must be a pos"),
        (lambda: optim.SGD(momentum=1.0), ValueError, r"momentum must be a number in \[0"),
        (lambda: optim.SGD(nesterov="yes"), TypeError, "nesterov must be True or False"),
        (lambda: optim.Adam(beta_1=1.0), ValueError, r"beta_1 must be a number in \[0.0, 1.0\)"),
        (lambda: optim.Adam(beta_2=-0.1), ValueError, "beta_2 must be a number in"),
        (lambda: optim.Adam(epsilon=0.0), ValueError, "epsilon must be a positive number"),
        (lambda: optim.SGD(l1=-0.1), ValueError, "l1 must be a non-negative number"),
        (lambda: optim.Adam(l2=float("nan")), ValueError, "l2 must be a non-negative number"),
        (lambda: set_learning_rate(optim.SGD(), -1.0), ValueError, "learning_rate must be"),
        (lambda: optim.get("rmsprop"), ValueError, "optimizer must be one of 'sgd', 'momentum'"),
        (lambda: optim.get(0.1), TypeError, "optimizer must be an optimizer name"),
        (lambda: optim.get(optim.SGD(), momentum=0.9), TypeError, "only be given with"),
        (lambda: optim.SGD().build([np.zeros(2)]), TypeError, "variables must hold tf.Var"),
        (
            lambda: optim.SGD().apply_gradients([(tf.ones(3), tf.Variable(tf.ones(2)))]),
            ValueError,
            r"gradient for variable .* must have shape \(2,\), got \(3,\)",
        ),
        (
            lambda: optim.SGD().apply_gradients([(tf.ones(2), np.ones(2))]),
            TypeError,
            "grads_and_vars must hold tf.Variable or keras.Variable objects, got ndarray",
        ),
        (
            lambda: optim.SGD().apply_gradients([tf.Variable(1.0)]),
            TypeError,
            r"\(gradient, variable\) pairs",
        ),
        (
            lambda: optim.Adam().apply_gradients([(None, tf.Variable(1.0))]),
            ValueError,
            "at least one gradient that is not None",
        ),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()
