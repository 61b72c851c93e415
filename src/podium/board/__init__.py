"""The experiment board: one self-contained HTML page over every experiment, ensemble,
student and tune study of a competition (CV, per fold, best vs last, TTA gain, config
difference from its base, time, freshness as the stages decide it), its submissions with
their local and recorded leaderboard scores and a CV-versus-LB scatter, the learning curves
of every unit, the ensembles' candidates and the studies' best trials (`podium board`).

    scope -> runs (folders + their config files) -> freshness, config_diff, records
          -> collect (the Board) -> page (HTML)
    leaderboard: the recorded LB scores and the submissions (`podium lb`)
"""
