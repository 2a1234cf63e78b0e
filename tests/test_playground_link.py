"""The TensorFlow Playground link of a setting: every field it can show, and the refusals."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from mapping_lib.playground import PlaygroundConfig
from mapping_lib.playground.config import TENSORFLOW_PLAYGROUND, tensorflow_playground_url

# The hash keys TensorFlow Playground reads (its src/state.ts, State.PROPS).
TF_KEYS = {
    "activation", "regularization", "batchSize", "dataset", "regDataset", "learningRate",
    "regularizationRate", "noise", "networkShape", "seed", "showTestData", "discretize",
    "percTrainData", "x", "y", "xTimesY", "xSquared", "ySquared", "cosX", "sinX", "cosY",
    "sinY", "collectStats", "tutorial", "problem", "initZero", "hideText",
}  # fmt: skip


def _hash(url: str) -> dict[str, str]:
    assert url.startswith(TENSORFLOW_PLAYGROUND + "#")
    return dict(item.split("=", 1) for item in urlsplit(url).fragment.split("&"))


def test_every_field_of_a_classification_setting_is_in_the_hash() -> None:
    config = PlaygroundConfig(
        dataset="spiral",
        noise=25,
        train_percent=70,
        features=("x1", "x1^2", "x1*x2", "sin(x2)"),
        hidden=(8, 3),
        activation="relu",
        regularization="l2",
        regularization_rate=0.003,
        learning_rate=1e-5,
        batch_size=30,
        seed=4242,
        show_test=True,
        discretize=True,
    )
    assert _hash(tensorflow_playground_url(config)) == {
        "activation": "relu",
        "regularization": "L2",
        "batchSize": "30",
        "dataset": "spiral",
        "learningRate": "1e-05",  # its `+value` reads this back as 0.00001
        "regularizationRate": "0.003",
        "noise": "25",
        "networkShape": "8,3",
        "seed": "4242",
        "showTestData": "true",
        "discretize": "true",
        "percTrainData": "70",
        "x": "true",
        "y": "false",
        "xSquared": "true",
        "ySquared": "false",
        "xTimesY": "true",
        "sinX": "false",
        "sinY": "true",
        "cosX": "false",
        "cosY": "false",
        "problem": "classification",
    }


def test_regression_and_no_hidden_layer_use_its_own_keys() -> None:
    fields = _hash(tensorflow_playground_url("pg1;data=reg-gauss;net=;reg=l1;rate=0.1"))
    assert fields["problem"] == "regression"
    assert fields["regDataset"] == "reg-gauss" and "dataset" not in fields
    assert fields["networkShape"] == ""  # it reads an empty list: no hidden layer
    assert fields["regularization"] == "L1" and fields["regularizationRate"] == "0.1"
    assert set(fields) <= TF_KEYS


@pytest.mark.parametrize("dataset", ["circle", "xor", "gauss", "spiral", "reg-plane"])
def test_a_string_and_its_config_give_the_same_link(dataset: str) -> None:
    text = f"pg1;data={dataset};net=4;lr=0.3;seed=7"
    url = tensorflow_playground_url(text)
    assert url == tensorflow_playground_url(PlaygroundConfig.from_string(text))
    assert dataset in _hash(url).values() and set(_hash(url)) <= TF_KEYS


def test_what_it_cannot_show_is_refused() -> None:
    with pytest.raises(ValueError, match="dataset must be one of .* got 'digits'"):
        tensorflow_playground_url("pg1;data=digits;digits=1,7")
    with pytest.raises(ValueError, match="config string"):
        tensorflow_playground_url("pg1;data=moons")
    with pytest.raises(TypeError, match="config must be"):
        tensorflow_playground_url(3)
