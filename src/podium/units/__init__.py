"""Trained units (one fold x seed of an experiment): what each is trained from (`stamps`),
training them on their fold's rows (`train`), predicting with them (`predict`), a
distillation teacher's soft targets (`distill`), external rows (`external`) and units spread
over devices (`devices`); shared by the train, oof, infer, lr-find, pseudo and tune stages."""
