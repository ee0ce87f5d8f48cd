"""
Iris and digits on self-organizing maps
=======================================

The main demonstration: train a 10x10 hexagonal map on the iris flowers and a
20x20 map on the handwritten digits, print the quality measures, and save the
classic pictures: the U-matrix with the species over it, the hit map, the
component planes, and the digits map with each image's class drawn at its unit.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from _paths import output_path
from sklearn.datasets import load_digits, load_iris
from sklearn.preprocessing import MinMaxScaler

from sklearn_som import SelfOrganizingMap
from sklearn_som.metrics import bmu_purity
from sklearn_som.plotting import (
    ComponentPlanesDisplay,
    HitMapDisplay,
    LabelMapDisplay,
    TrainingCurveDisplay,
    UMatrixDisplay,
)

# %%
# Iris on a 10x10 hexagonal map
# -----------------------------
iris = load_iris(as_frame=True)
X_iris = MinMaxScaler().set_output(transform="pandas").fit_transform(iris.data)
som = SelfOrganizingMap(10, 10, topology="hexagonal", random_state=0).fit(X_iris)
print(
    f"iris   10x10 hexagonal: quantization error {som.quantization_error_:.4f}, "
    f"topographic error {som.topographic_error_:.4f}, "
    f"BMU purity {bmu_purity(som, X_iris, iris.target):.3f}"
)

fig, axes = plt.subplots(1, 3, figsize=(17, 5))
UMatrixDisplay.from_estimator(som, ax=axes[0])
LabelMapDisplay.from_estimator(
    som, X_iris, iris.target, ax=axes[1], class_names=list(iris.target_names)
)
HitMapDisplay.from_estimator(som, X_iris, ax=axes[2])
fig.tight_layout()
fig.savefig(output_path("iris_map.png"), dpi=90)

planes = ComponentPlanesDisplay.from_estimator(som, n_cols=4)
planes.figure_.tight_layout()
planes.figure_.savefig(output_path("iris_component_planes.png"), dpi=90)

# %%
# Digits on a 20x20 map
# ---------------------
X_digits, y_digits = load_digits(return_X_y=True)
X_digits = X_digits / 16.0
digits_som = SelfOrganizingMap(20, 20, random_state=0).fit(X_digits)
print(
    f"digits 20x20 rectangular: quantization error {digits_som.quantization_error_:.4f}, "
    f"topographic error {digits_som.topographic_error_:.4f}, "
    f"BMU purity {bmu_purity(digits_som, X_digits, y_digits):.3f}"
)

fig, axes = plt.subplots(1, 2, figsize=(16, 7), gridspec_kw={"width_ratios": [3, 2]})
LabelMapDisplay.from_estimator(digits_som, X_digits, y_digits, text=True, ax=axes[0])
TrainingCurveDisplay.from_estimator(digits_som, ax=axes[1])
fig.tight_layout()
fig.savefig(output_path("digits_map.png"), dpi=90)
print(f"pictures saved in {output_path('').resolve()}")
