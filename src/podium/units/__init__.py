"""Trained units (one fold x seed of an experiment): training them on their fold's rows
(`train`) and predicting with them (`predict`), shared by the train, oof, infer, lr-find,
pseudo and tune stages."""
