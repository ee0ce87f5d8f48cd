"""
Fraud detection with a U-matrix
===============================

The classic self-organizing-map fraud tutorial on the Australian credit
approval data (``../shared/data/credit_card_applications.csv``): scale the
applicants' attributes, train a 10x10 map, find the units whose prototypes
lie far from their neighbours' (the peaks of the U-matrix: applicants unlike
any group), list the customers mapped to them, and count how many of those
were approved (``Class`` = 1).
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _paths import output_path, shared_data_path
from sklearn.preprocessing import MinMaxScaler

from sklearn_som import SelfOrganizingMap
from sklearn_som.metrics import hit_map, u_matrix
from sklearn_som.plotting import LabelMapDisplay, UMatrixDisplay

DATA = shared_data_path("credit_card_applications.csv")
if not DATA.exists():
    print(f"{DATA} not found: this example needs the shared data folder.")
    sys.exit(0)

applications = pd.read_csv(DATA)
features = applications.drop(columns=["CustomerID", "Class"])
X = MinMaxScaler().set_output(transform="pandas").fit_transform(features)

som = SelfOrganizingMap(10, 10, random_state=0).fit(X)
print(
    f"credit applications 10x10: quantization error {som.quantization_error_:.4f}, "
    f"topographic error {som.topographic_error_:.4f}"
)

# %%
# Outlying units: among the units that win at least one customer (the empty
# ones are the ridges between groups), those whose U-matrix value is more than
# two standard deviations above the mean.
umatrix = u_matrix(som).ravel()
cells = som.predict(X)
occupied = np.flatnonzero(hit_map(som, X).ravel() > 0)
threshold = umatrix[occupied].mean() + 2 * umatrix[occupied].std()
outlying_units = occupied[umatrix[occupied] > threshold]
suspects = applications[np.isin(cells, outlying_units)]
print(
    f"{outlying_units.size} outlying units (U-matrix > {threshold:.3f}): "
    f"{sorted(outlying_units.tolist())}"
)
print(
    f"{len(suspects)} customers mapped to them, {int(suspects['Class'].sum())} approved "
    f"({suspects['Class'].mean():.0%}; {applications['Class'].mean():.0%} of all applicants)"
)
print("customer IDs:", " ".join(map(str, suspects["CustomerID"].tolist())))

fig, axes = plt.subplots(1, 2, figsize=(14, 5.5))
display = UMatrixDisplay.from_estimator(som, ax=axes[0])
centres = som.unit_coordinates_[outlying_units]
axes[0].scatter(centres[:, 0], centres[:, 1], marker="x", color="red", s=80, label="outlying")
axes[0].legend(loc="lower left")
LabelMapDisplay.from_estimator(
    som, X, applications["Class"], ax=axes[1], class_names=["not approved", "approved"]
)
fig.tight_layout()
fig.savefig(output_path("fraud_detection.png"), dpi=90)
print(f"pictures saved in {output_path('').resolve()}")
