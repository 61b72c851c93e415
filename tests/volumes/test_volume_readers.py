"""Volume files read as (D, H, W) values with their spacing: a NIfTI round trip (and the same
volume under a flipped affine), `.npy`, a multi-frame DICOM written with pydicom (frames stored
out of order, per-frame positions, rescale), and the one-line errors of bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from podium.data.read_spec import ImageReadError, ReadSpec
from podium.data.readers import read_image
from podium.volumes.demo import write_nifti
from podium.volumes.readers import read_volume
from podium.volumes.record import VolumeReadError

D, H, W = 5, 6, 7


def ramp() -> np.ndarray:
    """(D, H, W) values that differ along every axis: any transpose or flip shows."""
    z, y, x = np.meshgrid(np.arange(D), np.arange(H), np.arange(W), indexing="ij")
    return (100 * z + 10 * y + x).astype(np.float32)


def test_a_nifti_round_trip_keeps_values_and_spacing(tmp_path):
    path = tmp_path / "v.nii.gz"
    write_nifti(path, ramp(), (2.5, 0.8, 0.7))
    volume = read_volume(path)
    np.testing.assert_array_equal(volume.values, ramp())
    assert volume.spacing == pytest.approx((2.5, 0.8, 0.7))
    assert volume.values.dtype == np.float32


def test_a_flipped_affine_reads_as_the_canonical_volume(tmp_path):
    data = ramp().transpose(2, 1, 0)  # (x, y, z) as NIfTI stores it
    flipped = nib.Nifti1Image(data[::-1].copy(), np.diag([-1.0, 1.0, 2.0, 1.0]))
    nib.save(flipped, str(tmp_path / "flipped.nii"))
    np.testing.assert_array_equal(read_volume(tmp_path / "flipped.nii").values, ramp())


def test_a_npy_volume_has_no_spacing(tmp_path):
    np.save(tmp_path / "v.npy", ramp().astype(np.int16))
    volume = read_volume(tmp_path / "v.npy")
    np.testing.assert_array_equal(volume.values, ramp())
    assert volume.spacing is None


def write_multiframe(path: Path, hu: np.ndarray, order: list[int], step: float = 3.0) -> None:
    """`hu` (frames, H, W) as one enhanced-CT-like file, frame i of the file holding slice
    order[i], each with its own position; rescale intercept -1024 in the shared group."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"  # Enhanced CT
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = (
        meta.MediaStorageSOPClassUID,
        meta.MediaStorageSOPInstanceUID,
    )
    ds.Modality, ds.NumberOfFrames = "CT", len(order)
    ds.Rows, ds.Columns = hu.shape[1:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    shared = Dataset()
    measures, orientation, rescale = Dataset(), Dataset(), Dataset()
    measures.PixelSpacing, measures.SliceThickness = [0.6, 0.7], 5.0
    orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    rescale.RescaleIntercept, rescale.RescaleSlope = -1024, 1
    shared.PixelMeasuresSequence = Sequence([measures])
    shared.PlaneOrientationSequence = Sequence([orientation])
    shared.PixelValueTransformationSequence = Sequence([rescale])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for s in order:
        frame, position = Dataset(), Dataset()
        position.ImagePositionPatient = [0.0, 0.0, 10.0 + step * s]
        frame.PlanePositionSequence = Sequence([position])
        frames.append(frame)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.PixelData = np.rint(hu[order] + 1024).astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def test_a_multiframe_dicom_is_ordered_by_position_with_its_spacing(tmp_path):
    hu = ramp() - 200
    write_multiframe(tmp_path / "v.dcm", hu, order=[3, 0, 4, 1, 2])
    volume = read_volume(tmp_path / "v.dcm")
    np.testing.assert_allclose(volume.values, hu)  # rescaled, frames in position order
    assert volume.spacing == pytest.approx((3.0, 0.6, 0.7))  # z from the positions, not 5 mm


def test_a_multiframe_dicom_reads_through_the_cache_reader(tmp_path):
    write_multiframe(tmp_path / "v.dcm", ramp() - 200, order=list(range(D)))
    image = read_image(tmp_path / "v.dcm", ReadSpec(volume=(D, H, W), window=(-200.0, 300.0)))
    assert image.shape == (H, W, D) and image.dtype == np.uint8
    assert (np.diff(image.reshape(-1, D).mean(axis=0)) > 0).all()  # depth is the channels


def test_a_single_frame_dicom_is_not_a_volume(tmp_path):
    from podium.series.dicom_writer import new_series_ids, write_slice

    ids = new_series_ids("p", np.random.default_rng(0))
    write_slice(tmp_path / "s.dcm", ramp()[0], ids, instance=1, position=(0.0, 0.0, 0.0))
    with pytest.raises(VolumeReadError, match="single-frame DICOM"):
        read_volume(tmp_path / "s.dcm")


@pytest.mark.parametrize(
    ("name", "write", "reason"),
    [
        (
            "garbage.nii.gz",
            lambda p: p.write_bytes(gzip.compress(b"not nifti" * 50)),
            "not a readable NIfTI",
        ),
        (
            "cut.nii.gz",
            lambda p: p.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 20),
            "not a readable NIfTI",
        ),
        (
            "flat.nii",
            lambda p: nib.save(nib.Nifti1Image(np.zeros((4, 5), np.int16), np.eye(4)), str(p)),
            "must be 3-D",
        ),
        (
            "series.nii",
            lambda p: nib.save(
                nib.Nifti1Image(np.zeros((4, 5, 3, 2), np.int16), np.eye(4)), str(p)
            ),
            "must be 3-D",
        ),
        ("flat.npy", lambda p: np.save(p, np.zeros((4, 5))), "(D, H, W)"),
        ("empty.npy", lambda p: p.write_bytes(b""), "empty file"),
        (
            "photo.png",
            lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),
            "not a volume format",
        ),
        ("missing.nii.gz", lambda p: None, "file not found"),
    ],
)
def test_a_bad_volume_is_an_error_naming_the_file(tmp_path, name, write, reason):
    path = tmp_path / name
    write(path)
    with pytest.raises(ImageReadError) as e:
        read_image(path, ReadSpec(volume=(4, 4, 4)))
    assert e.value.path == path and reason in e.value.reason
    assert len(str(e.value).splitlines()) == 1
