"""Tabular members: scikit-learn or XGBoost models on flattened pixels, fitted per fold on
the competition's folds so they sit in an ensemble beside the CNNs (`estimators`: the model
registry, `checks`: the section against the estimators and the task, `fit`: the per-fold
fitting, `store`: fitted models without pickle). The `tabular:` section's schema is the
config's (`podium.config.tabular`)."""
