"""Tabular members: scikit-learn or XGBoost models on flattened pixels, fitted per fold on
the competition's folds so they sit in an ensemble beside the CNNs (`schema`: the section,
`estimators`: the model registry, `fit`: the per-fold fitting)."""
