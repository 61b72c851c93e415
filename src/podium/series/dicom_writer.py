"""One CT-like slice written as a real DICOM file (pydicom): the tags a series reader orders
and windows by (ImagePositionPatient, ImageOrientationPatient, InstanceNumber, PixelSpacing,
SliceThickness, rescale, window), used by the demo competition and by tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

RESCALE_INTERCEPT = -1024.0  # stored value 0 = -1024 HU, as CT scanners write it


@dataclass(frozen=True)
class SeriesIds:
    """The UIDs and patient that every slice of one series shares."""

    patient: str
    study_uid: str
    series_uid: str


def new_series_ids(patient: str, rng: np.random.Generator) -> SeriesIds:
    """Fresh UIDs under podium's demo root, drawn from `rng` (reproducible)."""
    root = "1.2.826.0.1.3680043.10.1337"  # a private root; not registered to any vendor
    a, b = (int(v) for v in rng.integers(1, 2**62, 2))
    return SeriesIds(patient, f"{root}.1.{a}", f"{root}.2.{b}")


def write_slice(
    path: Path,
    hu: np.ndarray,
    ids: SeriesIds,
    instance: int,
    position: tuple[float, float, float],
    orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
    spacing: float = 0.8,
    thickness: float = 2.5,
    window: tuple[float, float] = (40.0, 400.0),
) -> None:
    """`hu` (H, W) Hounsfield units -> a 16-bit CT slice at `path` (explicit little endian)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian

    sop = UID(f"{ids.series_uid}.{instance}")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop
    ds.Modality, ds.PatientID = "CT", ids.patient
    ds.StudyInstanceUID, ds.SeriesInstanceUID = ids.study_uid, ids.series_uid
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [f"{v:.4f}" for v in position]
    ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
    ds.PixelSpacing = [spacing, spacing]
    ds.SliceThickness = thickness
    ds.Rows, ds.Columns = hu.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope = RESCALE_INTERCEPT, 1.0
    ds.WindowCenter, ds.WindowWidth = window
    stored = np.clip(np.rint(hu - RESCALE_INTERCEPT), 0, 4095).astype(np.uint16)
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)
