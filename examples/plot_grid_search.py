"""
Tuning a map with GridSearchCV
==============================

A ``Pipeline`` of ``MinMaxScaler`` and ``SelfOrganizingMap`` tuned over
``learning_rate`` and ``sigma`` with the scorers of ``sklearn_som.metrics``,
refitted on the combined measure, and then used to map new rows to cells.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from _paths import output_path
from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sklearn_som import SelfOrganizingMap
from sklearn_som.metrics import (
    combined_scorer,
    quantization_error_scorer,
    topographic_error_scorer,
)

X, y = load_wine(return_X_y=True)
X_train, X_new, y_train, y_new = train_test_split(X, y, test_size=0.2, random_state=0)

pipe = make_pipeline(MinMaxScaler(), SelfOrganizingMap(8, 8, random_state=0))
grid = {
    "selforganizingmap__learning_rate": [0.2, 0.5, 1.0],
    "selforganizingmap__sigma": [1.0, 2.0, 4.0],
}
search = GridSearchCV(
    pipe,
    grid,
    scoring={
        "qe": quantization_error_scorer,
        "te": topographic_error_scorer,
        "combined": combined_scorer,
    },
    refit="combined",
    cv=5,
).fit(X_train)

results = search.cv_results_
for params, qe, te, combined in zip(
    results["params"],
    results["mean_test_qe"],
    results["mean_test_te"],
    results["mean_test_combined"],
    strict=True,
):
    rate, sigma = params.values()
    print(
        f"lr {rate:3.1f} sigma {sigma:3.1f}: QE {-qe:.4f}  TE {-te:.3f}  combined {combined:.3f}"
    )
print("best:", search.best_params_)

# %%
# New rows mapped to cells
cells = search.predict(X_new)
print("cells of the first new rows:", cells[:10].tolist())
som = search.best_estimator_[-1]
rows, columns = np.divmod(cells, som.n_columns)
print("as (row, column):", list(zip(rows[:5].tolist(), columns[:5].tolist(), strict=True)))

fig, ax = plt.subplots(figsize=(5, 4))
image = ax.imshow(results["mean_test_combined"].reshape(3, 3), cmap="viridis")
ax.set_xticks(range(3), grid["selforganizingmap__sigma"])
ax.set_yticks(range(3), grid["selforganizingmap__learning_rate"])
ax.set_xlabel("sigma")
ax.set_ylabel("learning rate")
fig.colorbar(image, label="combined score (higher is better)")
fig.tight_layout()
fig.savefig(output_path("grid_search.png"), dpi=90)
print(f"pictures saved in {output_path('').resolve()}")
