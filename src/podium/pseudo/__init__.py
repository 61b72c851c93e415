"""Pseudo-labelling: a teacher's test (and extra unlabelled) predictions turned into extra
training rows for a student experiment, fold by fold so that no student fold trains on
labels its own validation rows influenced.

    teacher.py  the teacher's predictions per student fold (experiment or ensemble)
    select.py   which rows become pseudo-labels (threshold, top fraction, caps) and their targets
    rows.py     pseudo.parquet <-> the extra TrainRows of one fold
    report.py   per round: rows per class, their accuracy, teacher vs student CV and LB

The `pseudo:` section's schema is the config's (`podium.config.pseudo`).
"""
