"""Inference bundles: everything `podium predict` needs to turn a competition's test images
into the validated submission on a machine with no network, no runs/ and no train.csv (a
Kaggle code competition's notebook). `manifest`: the bundle's table of contents, version and
hashes; `contents`: what an export copies in from the runs; `metric`: a plug-in metric's
file; `package`: podium's wheel, the Kaggle dataset and kernel files; `predict`: the members
and the chosen combination run from the bundle alone, through the same inference code as
`podium infer` and `podium ensemble`."""
