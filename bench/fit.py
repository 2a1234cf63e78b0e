"""Throughput of mapping_lib against Keras on the seed texts' CNN and Fashion-MNIST.

    python -m bench.fit [--samples 6000] [--repeats 3]

Three comparisons, each alternated in this one process (see bench/timing.py):
1. ``mapping_lib.fit`` vs ``keras.Model.fit`` on the same Keras-layer CNN
   (Keras run both with its default ``jit_compile="auto"`` and with XLA off);
2. mapping_lib layers vs Keras layers, both trained by ``Model.fit``;
3. the hand-derived backward pass (``fit(manual=True)``, ``ManualTrainer``) vs GradientTape
   (``TapeTrainer``), both inside ``Model.fit``.
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

from bench.timing import alternate, machine, report
from mapping_lib import data, device, losses, optim, train
from mapping_lib.models import seed_cnn

BATCH = 64


def one_epoch_with_mapping_lib(model, x, y, *, manual: bool = False):
    optimizer = optim.Adam(1e-3)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)

    def run() -> int:
        train.fit(model, x, y, loss=loss, optimizer=optimizer, epochs=1,
                  batch_size=BATCH, manual=manual, progress=False)
        return len(x)

    return run


def one_epoch_with_keras(model, x, y, *, jit_compile: str | bool = "auto"):
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)

    def run() -> int:
        model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0, shuffle=True)
        return len(x)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=6000, help="training images per epoch")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    device.seed_everything(0)
    fashion = data.load_fashion_mnist()
    x = fashion.x_train[: args.samples, ..., np.newaxis]
    y = fashion.y_train[: args.samples]
    print(f"machine: {machine()}")
    print(f"data: {fashion.source}; {len(x)} images per epoch, batch {BATCH}\n")

    print("1. training loop: mapping_lib.fit vs keras.Model.fit (Keras-layer CNN; target >= 1.0x)")
    rates = alternate({
        "keras.Model.fit (jit_compile=auto)":
            one_epoch_with_keras(seed_cnn(layers_from="keras"), x, y),
        "keras.Model.fit (jit_compile=False)":
            one_epoch_with_keras(seed_cnn(layers_from="keras"), x, y, jit_compile=False),
        "mapping_lib.fit": one_epoch_with_mapping_lib(seed_cnn(layers_from="keras"), x, y),
    }, args.repeats)
    print(report(rates, baseline="keras.Model.fit (jit_compile=auto)"), "\n")

    print("2. layers: mapping_lib layers vs Keras layers, both trained by Model.fit (XLA off)")
    rates = alternate({
        "keras layers": one_epoch_with_keras(seed_cnn(layers_from="keras"), x, y,
                                             jit_compile=False),
        "mapping_lib layers": one_epoch_with_keras(seed_cnn(layers_from="mapping_lib"), x, y,
                                                   jit_compile=False),
    }, args.repeats)
    print(report(rates, baseline="keras layers"), "\n")

    print("3. gradients: hand-derived backward vs GradientTape (mapping_lib layers and fit; "
          "target >= 0.8x)")
    rates = alternate({
        "GradientTape": one_epoch_with_mapping_lib(seed_cnn(), x, y),
        "manual backward": one_epoch_with_mapping_lib(seed_cnn(), x, y, manual=True),
    }, args.repeats)
    print(report(rates, baseline="GradientTape"))


if __name__ == "__main__":
    main()
