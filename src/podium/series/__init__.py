"""Studies given as series of 2-D slices (#28): the slices' order along the series' normal
(`order`), the resampling to a fixed depth (`resample`), the files of a series folder
(`files`), the 2.5D network over slice windows and its sequence heads (`network`, `heads`)
and the locally drawn demo competition (`demo`)."""
