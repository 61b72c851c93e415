"""Ensembles of segmentation members: their OOF and test probability maps blended with
weights fitted on the other folds, an XGBoost "is this mask empty" gate, the choice among
candidates scored by nested selection, and the paired comparison with the best member."""
