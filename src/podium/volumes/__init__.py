"""3-D volumes (#28): a row's image is one volume (NIfTI, a `.npy` (D, H, W), a multi-frame
DICOM), read with its voxel spacing, resampled to `data.spacing`, brought to a fixed shape and
classified by a MONAI 3-D network (`model.arch: monai:<network>`)."""
