"""Optimizers: steps against keras.optimizers on the same gradients, and the Keras machinery."""

import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from training_helpers import run_script

from mapping_lib import optim

SHAPES = [(3, 4), (4,)]
STEPS = 5


def initial_weights(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype("float32") for shape in SHAPES]


def gradient_sequence(seed=1, steps=STEPS):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=shape).astype("float32") for shape in SHAPES] for _ in range(steps)]


def run(optimizer, variable_type=tf.Variable, lr_schedule=None, steps=STEPS):
    """Apply the gradient sequence; optionally set the learning rate before some steps."""
    variables = [variable_type(w) for w in initial_weights()]
    for step, grads in enumerate(gradient_sequence(steps=steps)):
        if lr_schedule and step in lr_schedule:
            optimizer.learning_rate = lr_schedule[step]
        optimizer.apply_gradients(zip(grads, variables))
    return [v.numpy() for v in variables]


def assert_same_weights(ours, theirs, atol=1e-6):
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)


SGD_VARIANTS = [
    dict(momentum=0.0, nesterov=False),
    dict(momentum=0.9, nesterov=False),
    dict(momentum=0.5, nesterov=True),
]


@pytest.mark.parametrize("steps", [1, STEPS])
@pytest.mark.parametrize("variant", SGD_VARIANTS)
def test_sgd_matches_keras(variant, steps):
    ours = run(optim.SGD(learning_rate=0.1, **variant), steps=steps)
    theirs = run(keras.optimizers.SGD(learning_rate=0.1, **variant), keras.Variable, steps=steps)
    assert_same_weights(ours, theirs)
    assert not np.allclose(ours[0], initial_weights()[0])  # the weights did move


@pytest.mark.parametrize("steps", [1, STEPS])
@pytest.mark.parametrize(
    "settings",
    [dict(), dict(learning_rate=0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-3)],
)
def test_adam_matches_keras(settings, steps):
    ours = run(optim.Adam(**settings), steps=steps)
    theirs = run(keras.optimizers.Adam(**settings), keras.Variable, steps=steps)
    assert_same_weights(ours, theirs)
    assert not np.allclose(ours[0], initial_weights()[0])


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


def test_learning_rate_schedule_and_weight_decay_reach_the_keras_base_class():
    def schedule():
        return keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)

    settings = dict(momentum=0.9, weight_decay=0.05, clipnorm=1.0)
    ours = run(optim.SGD(schedule(), **settings))
    theirs = run(keras.optimizers.SGD(schedule(), **settings), keras.Variable)
    assert_same_weights(ours, theirs)
    no_decay = run(optim.SGD(schedule(), momentum=0.9, clipnorm=1.0))
    assert not np.allclose(ours[0], no_decay[0])  # weight_decay changed the walk


def test_state_variables():
    optimizer = optim.Adam()
    assert isinstance(optimizer, keras.optimizers.Optimizer)
    assert isinstance(optimizer.learning_rate, keras.Variable)
    assert optimizer.learning_rate.dtype == "float32"
    assert optimizer.iterations.dtype == tf.int64
    optimizer.learning_rate.assign(0.25)
    assert optimizer.learning_rate.numpy() == pytest.approx(0.25)
    optimizer.learning_rate = 0.5
    assert optimizer.learning_rate.numpy() == pytest.approx(0.5)
    run(optimizer)
    assert int(optimizer.iterations) == STEPS
    # iteration, learning rate, then m and v for each of the two variables
    assert len(optimizer.variables) == 2 + 2 * len(SHAPES)
    assert len(optim.SGD().variables) == 2 and len(optim.SGD(momentum=0.9).variables) == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.SGD(0.05, momentum=0.9, nesterov=True, l1=0.01, l2=0.02, clipvalue=0.5),
        lambda: optim.Adam(3e-3, beta_1=0.8, beta_2=0.95, epsilon=1e-4, l2=3e-2, name="mine"),
    ],
)
def test_get_config_round_trips(make):
    optimizer = make()
    config = optimizer.get_config()
    again = type(optimizer).from_config(config)
    assert type(again) is type(optimizer) and again.get_config() == config
    assert config["l2"] == pytest.approx(optimizer.l2) and config["l2"] > 0
    # Registered with Keras, so saved models and keras.optimizers.deserialize find the class.
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is type(optimizer) and restored.get_config() == config


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


@pytest.mark.parametrize("l1, l2", [(0.01, 0.05)])
@pytest.mark.parametrize("name, keras_class", [("sgd", "SGD"), ("adam", "Adam")])
def test_penalised_step_equals_the_keras_optimizer_on_the_penalised_gradient(
    name, keras_class, l1, l2
):
    ours = optim.get(name, learning_rate=0.1, l1=l1, l2=l2)
    theirs = getattr(keras.optimizers, keras_class)(learning_rate=0.1)
    ours_vars = [tf.Variable(w) for w in initial_weights()]
    their_vars = [keras.Variable(w) for w in initial_weights()]
    for grads in gradient_sequence():
        ours.apply_gradients(zip(grads, ours_vars))
        weights = [v.numpy() for v in their_vars]
        penalised = [g + l1 * np.sign(w) + 2 * l2 * w for g, w in zip(grads, weights)]
        theirs.apply_gradients(zip(penalised, their_vars))
    assert_same_weights([v.numpy() for v in ours_vars], [v.numpy() for v in their_vars])


def test_penalty_arguments_reach_the_update():
    weights = np.array([2.0, -1.0, 0.0], "float32")
    variable = tf.Variable(weights)
    optim.SGD(learning_rate=0.5, l1=0.1, l2=0.2).apply_gradients([(tf.zeros(3), variable)])
    expected = weights - 0.5 * (0.1 * np.sign(weights) + 2 * 0.2 * weights)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-6)


def test_none_gradients_are_skipped():
    optimizer = optim.SGD(learning_rate=1.0)
    moved, untouched = tf.Variable([1.0, 2.0]), tf.Variable([3.0])
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        optimizer.apply_gradients(zip([tf.constant([1.0, 1.0]), None], [moved, untouched]))
    np.testing.assert_allclose(moved.numpy(), [0.0, 1.0])
    np.testing.assert_allclose(untouched.numpy(), [3.0])


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (optim.SGD(0.1, momentum=0.9), keras.optimizers.SGD(0.1, momentum=0.9)),
        (optim.Adam(0.1), keras.optimizers.Adam(0.1)),
    ],
    ids=["sgd", "adam"],
)
def test_sparse_gradient_of_an_embedding_equals_its_dense_form(ours, theirs):
    """An embedding's IndexedSlices gradient (row 3 picked twice) is summed into a dense one.

    Keras' own sparse Adam path squares the two row-3 parts separately; the rule in the
    docstring squares their sum, which is what Keras does given the dense gradient.
    """
    table = np.arange(10, dtype="float32").reshape(5, 2)
    our_table, their_table = tf.Variable(table), keras.Variable(table)
    for optimizer, variable in [(ours, our_table), (theirs, their_table)]:
        for _ in range(3):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(tf.gather(variable, [1, 3, 3])))
            gradient = tape.gradient(loss, variable)
            assert isinstance(gradient, tf.IndexedSlices)
            if optimizer is theirs:
                gradient = tf.convert_to_tensor(gradient)
            optimizer.apply_gradients([(gradient, variable)])
    assert_same_weights([our_table.numpy()], [their_table.numpy()])
    np.testing.assert_array_equal(our_table.numpy()[[0, 2, 4]], table[[0, 2, 4]])  # not picked


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


@pytest.mark.parametrize("make", [lambda: optim.SGD(0.1, momentum=0.9), optim.Adam])
def test_a_retraced_step_reuses_the_slots_made_in_build(make):
    first, second = tf.Variable([1.0]), tf.Variable([[1.0, 2.0]])

    def make_step(optimizer):
        @tf.function
        def step(variable):
            optimizer.apply_gradients([(tf.ones_like(variable), variable)])

        return step

    unbuilt = make_step(make())
    unbuilt(first)  # builds the optimizer for [first] on the first trace
    with pytest.raises(ValueError, match="Unknown variable"):
        unbuilt(second)  # a second trace meets a variable it was not built for

    optimizer, reference = make(), make()
    optimizer.build([first, second])
    slots = len(optimizer.variables)
    step = make_step(optimizer)
    copies = [tf.Variable(v) for v in (first, second)]
    reference.build(copies)
    for _ in range(3):
        for variable, copy in zip([first, second], copies):
            step(variable)  # a new variable: traced again, with no new slots
            reference.apply_gradients([(tf.ones_like(copy), copy)])
    assert step.experimental_get_tracing_count() == 2
    assert len(optimizer.variables) == slots
    assert_same_weights([v.numpy() for v in (first, second)], [c.numpy() for c in copies])
    assert int(optimizer.iterations) == 6


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


def fit_tiny_model(optimizer, epochs=15):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    return history.history["loss"], model.get_weights()


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: optim.Adam(0.02), lambda: keras.optimizers.Adam(0.02)),
        (lambda: optim.SGD(0.02, momentum=0.9), lambda: keras.optimizers.SGD(0.02, momentum=0.9)),
    ],
)
def test_model_fit_with_compile_trains_like_the_keras_optimizer(ours, theirs):
    our_loss, our_weights = fit_tiny_model(ours())
    their_loss, their_weights = fit_tiny_model(theirs())
    assert our_loss[-1] < 0.2 * our_loss[0]
    np.testing.assert_allclose(our_loss, their_loss, rtol=1e-5)
    assert_same_weights(our_weights, their_weights, atol=1e-5)


@pytest.mark.parametrize("make", [lambda: optim.SGD(0.1, momentum=0.9, l2=0.01), optim.Adam])
def test_checkpoint_restores_slots_into_a_fresh_optimizer(make, tmp_path):
    optimizer, variables = make(), [tf.Variable(w) for w in initial_weights()]
    grads = gradient_sequence()
    for step_grads in grads[:3]:
        optimizer.apply_gradients(zip(step_grads, variables))
    path = tf.train.Checkpoint(optimizer=optimizer, weights=variables).save(tmp_path / "ckpt")

    fresh, fresh_vars = make(), [tf.Variable(tf.zeros(shape)) for shape in SHAPES]
    status = tf.train.Checkpoint(optimizer=fresh, weights=fresh_vars).restore(path)
    fresh.apply_gradients(zip(grads[3], fresh_vars))  # builds, then deferred restore fills in
    status.assert_consumed()
    optimizer.apply_gradients(zip(grads[3], variables))
    assert int(fresh.iterations) == int(optimizer.iterations) == 4
    assert_same_weights([v.numpy() for v in fresh_vars], [v.numpy() for v in variables], 0)
    slots, fresh_slots = ([v.numpy() for v in o.variables] for o in (optimizer, fresh))
    assert_same_weights(fresh_slots, slots, 0)


@pytest.mark.parametrize("make", [lambda: optim.SGD(0.1, momentum=0.9), lambda: optim.Adam(0.1)])
def test_loss_scale_optimizer_wraps_ours(make):
    wrapped = keras.optimizers.LossScaleOptimizer(make(), initial_scale=8.0)
    plain = make()
    wrapped_vars = [tf.Variable(w) for w in initial_weights()]
    plain_vars = [tf.Variable(w) for w in initial_weights()]
    for grads in gradient_sequence():
        scale = float(wrapped.dynamic_scale) if wrapped.built else 8.0
        wrapped.apply_gradients(zip([g * scale for g in grads], wrapped_vars))
        plain.apply_gradients(zip(grads, plain_vars))
    assert_same_weights([v.numpy() for v in wrapped_vars], [v.numpy() for v in plain_vars], 0)
    assert int(wrapped.iterations) == STEPS

    before = [v.numpy() for v in wrapped_vars]
    bad = [np.full(shape, np.inf, "float32") for shape in SHAPES]
    wrapped.apply_gradients(zip(bad, wrapped_vars))  # skipped; the loss scale halves
    assert_same_weights([v.numpy() for v in wrapped_vars], before, 0)
    assert int(wrapped.iterations) == STEPS
    assert float(wrapped.dynamic_scale) == 4.0


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import keras
    import numpy as np
    import tensorflow as tf
    from mapping_lib import device, optim

    device.split_cpu(2)
    strategy = device.strategy()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32")

    def fit(make_optimizer):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            optimizer = make_optimizer()
            model.compile(optimizer=optimizer, loss="mse")
        history = model.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0)
        slots = [type(v.value).__name__ for v in optimizer.variables[2:]]
        return history.history["loss"], [w.tolist() for w in model.get_weights()], slots

    runs = {
        "sgd": fit(lambda: optim.SGD(0.05, momentum=0.9, nesterov=True)),
        "keras_sgd": fit(lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
        "adam": fit(lambda: optim.Adam(0.3)),
        "keras_adam": fit(lambda: keras.optimizers.Adam(0.3)),
        "adam_l2": fit(lambda: optim.Adam(0.3, l2=0.05)),
    }
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "runs": runs}))
    """
)


def test_mirrored_strategy_on_two_logical_cpus_matches_keras():
    # Logical devices are fixed when TensorFlow starts, so this needs a fresh interpreter.
    result = run_script(MIRRORED_SCRIPT, timeout=300)
    assert result["replicas"] == 2
    runs = result["runs"]
    for ours, theirs in [("sgd", "keras_sgd"), ("adam", "keras_adam")]:
        loss, weights, slots = runs[ours]
        assert loss[-1] < 0.5 * loss[0]
        assert slots and set(slots) == {"MirroredVariable"}
        np.testing.assert_allclose(loss, runs[theirs][0], rtol=1e-5)
        assert_same_weights([np.array(w) for w in weights], [np.array(w) for w in runs[theirs][1]])
    # The penalty runs on each replica too: it pulls the weights towards 0.
    assert np.abs(runs["adam_l2"][1][0]).sum() < np.abs(runs["adam"][1][0]).sum()


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
    assert optim.SGD(0.3).learning_rate.numpy() == pytest.approx(0.3)  # positional rate
    assert optim.Adam(1e-3, l2=3e-2).l2 == pytest.approx(3e-2)


def set_learning_rate(optimizer, value):
    optimizer.learning_rate = value


def built_sgd():
    optimizer = optim.SGD(0.1, momentum=0.9)
    optimizer.build([tf.Variable(1.0)])
    return optimizer


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
        (lambda: optim.SGD(momentum_=0.9), ValueError, r"Argument\(s\) not recognized"),
        (lambda: set_learning_rate(optim.SGD(), -1.0), ValueError, "learning_rate must be"),
        (lambda: set_learning_rate(optim.Adam(), "fast"), TypeError, "learning_rate must be"),
        (lambda: optim.get("rmsprop"), ValueError, "optimizer must be one of 'sgd', 'momentum'"),
        (lambda: optim.get(0.1), TypeError, "optimizer must be an optimizer name"),
        (lambda: optim.get(optim.SGD(), momentum=0.9), TypeError, "only be given with"),
        (lambda: optim.SGD().build([np.zeros(2)]), TypeError, "var_list must hold tf.Variable"),
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
            lambda: optim.SGD().apply_gradients([]),
            ValueError,
            r"at least one \(gradient, variable\) pair",
        ),
        (
            lambda: optim.Adam().apply_gradients([(None, tf.Variable(1.0))]),
            ValueError,
            "No gradients provided for any variable",
        ),
        (
            lambda: built_sgd().apply_gradients([(1.0, tf.Variable(2.0))]),
            ValueError,
            "Unknown variable",
        ),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()
