"""
Colours on a self-organizing map
================================

3000 random RGB colours on a 20x20 map: the random start beside the trained
map, then the effect of the learning rate and the starting radius ``sigma``
in a 3x3 grid of maps (online rule, where both matter most visibly).
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from _paths import output_path

from sklearn_som import Grid, SelfOrganizingMap
from sklearn_som.plotting import PrototypeColorsDisplay

rng = np.random.RandomState(0)
colours = rng.uniform(size=(3000, 3))
start = rng.uniform(size=(400, 3))

som = SelfOrganizingMap(20, 20, init=start, random_state=0).fit(colours)
print(
    f"colours 20x20: quantization error {som.quantization_error_:.4f}, "
    f"topographic error {som.topographic_error_:.4f}"
)

fig, axes = plt.subplots(1, 2, figsize=(10, 5))
PrototypeColorsDisplay(start, Grid(20, 20)).plot(ax=axes[0], title="random start")
PrototypeColorsDisplay.from_estimator(som, ax=axes[1], title="trained (batch, 20 epochs)")
fig.tight_layout()
fig.savefig(output_path("colour_map.png"), dpi=90)

# %%
# Learning rate x sigma
# ---------------------
fig, axes = plt.subplots(3, 3, figsize=(10, 10))
for i, learning_rate in enumerate([0.05, 0.2, 0.8]):
    for j, sigma in enumerate([1.0, 4.0, 10.0]):
        model = SelfOrganizingMap(
            20,
            20,
            algorithm="online",
            init=start,
            learning_rate=learning_rate,
            sigma=sigma,
            max_iter=2,
            random_state=0,
        ).fit(colours)
        PrototypeColorsDisplay.from_estimator(
            model,
            ax=axes[i, j],
            title=f"lr {learning_rate}, sigma {sigma}: TE {model.topographic_error_:.2f}",
        )
fig.tight_layout()
fig.savefig(output_path("colour_map_learning_rate_sigma.png"), dpi=90)
print(f"pictures saved in {output_path('').resolve()}")
