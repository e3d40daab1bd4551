"""How hard the synthetic faces are: an AU oracle and a small CNN, on the same split.

    python benchmarks/bench_synthetic_difficulty.py [--n 4000] [--epochs 10]

The *oracle* is a logistic regression that sees each face's true AU vector, so its
errors are the faces whose AUs are genuinely ambiguous (weak, with a telling AU missing
or an unrelated one present).  The CNN sees only pixels.  Both are scored on the
subject-independent PrivateTest split; chance is 1/7.
"""

import argparse
import time

import numpy as np


def small_cnn(n_classes, size):
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((size, size, 1)),
        layers.Rescaling(1 / 255),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(96, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(128, activation="relu"),
        layers.Dense(n_classes, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression

    from fercourse import config
    from fercourse.datasets import make_faces

    config.seed_everything(args.seed)
    t0 = time.perf_counter()
    data = make_faces(args.n, seed=args.seed, split_fractions=(0.8, 0.0, 0.2))
    print(f"{len(data)} synthetic faces in {time.perf_counter() - t0:.1f} s; "
          f"train {np.sum(data.splits == 'Training')}, test {np.sum(data.splits == 'PrivateTest')} "
          f"(subject-independent)")
    train, test = data.mask("Training"), data.mask("PrivateTest")
    aus, y = data.extras["aus"], data.labels

    oracle = LogisticRegression(max_iter=3000).fit(aus[train], y[train])
    print(f"AU oracle (logistic regression on the true AUs): {oracle.score(aus[test], y[test]):.1%}")

    t0 = time.perf_counter()
    model = small_cnn(len(data.class_names), data.images.shape[1])
    x = data.images[..., None]
    model.fit(x[train], y[train], epochs=args.epochs, batch_size=64, verbose=0)
    _, acc = model.evaluate(x[test], y[test], verbose=0)
    print(f"small CNN (3 conv blocks, {args.epochs} epochs, pixels only): {acc:.1%} "
          f"[{time.perf_counter() - t0:.0f} s to train]")
    print(f"chance: {1 / len(data.class_names):.1%}")


if __name__ == "__main__":
    main()
