"""The SAMM reader, on SAMM-layout fixtures the tests make (13 rows of notes above the header)."""

import numpy as np
import pytest

from coded_clip_fixtures import SAMM_HEADER, SAMM_NOTES, face_frames, flat_frames, level, samm_row, write_sheet
from fercourse import facs
from fercourse.datasets import DataFormatError, DataMissingError, available
from fercourse.datasets.samm import load_samm, samm_path, scan_samm

SHEET = "SAMM_Micro_FACS_Codes_v2.xlsx"


@pytest.fixture
def samm(tmp_path):
    root = tmp_path / "SAMM"
    rows = [
        samm_row("006", "006_1_2", 5562, 5570, 5590, "Micro - 1/2", "R14A", "Contempt"),   # sheet row 15
        samm_row(6, "006_1_3", 100, 130, 260, "Macro", "6+12", "Happiness"),               # 16: macro
        samm_row(7, "007_3_1", 10, 20, 30, "", "4+7+43", "Anger"),                         # 17: duration says micro
        samm_row(7, "007_3_2", 10, 20, "x30", "Micro", "4", "Anger"),                      # 18: non-numeric frame cell
        samm_row(7, "007_3_3", 10, 20, 30, "Micro", "4", "boredom"),                       # 19: unknown emotion word
        samm_row(8, "008_1_1", 10, 20, 30, "Micro", "2", "Surprise"),                      # 20: frames missing
        samm_row(8, "008_1_2", 10, 20, 30, "Micro", "1+2", "Other"),                       # 21: folder absent
        samm_row(8, "008_2_1", 10, 12, 14, "Micro", "9+10", "Disgust"),                    # 22: not in task 5
    ]
    write_sheet(root / SHEET, SAMM_HEADER, rows, notes=SAMM_NOTES)
    frames = {("006", "006_1_2"): range(5560, 5593), ("006", "006_1_3"): range(100, 261, 10),
              ("007", "007_3_1"): range(10, 31), ("007", "007_3_2"): range(10, 31),
              ("007", "007_3_3"): range(10, 31), ("008", "008_1_1"): range(15, 31),
              ("008", "008_2_1"): range(10, 15)}
    for (sub, clip), numbers in frames.items():
        flat_frames(root / sub / clip, numbers, name=sub + "_{:05d}.png")
    return root


def test_reads_below_the_notes_and_reports_irregular_rows(samm):
    data = load_samm(samm, task="5", length=5, crop=False, verbose=False)
    assert data.name == "samm" and data.class_names == ("anger", "contempt", "happiness", "surprise", "other")
    assert data.clips.tolist() == ["006/006_1_2", "006/006_1_3", "007/007_3_1"]
    assert data.subjects.tolist() == [6, 6, 7]
    assert [data.class_names[e] for e in data.emotion] == ["contempt", "happiness", "anger"]
    assert data.micro.tolist() == [True, False, True]  # from the Micro column, else from the duration (0.1 s)
    assert facs.au_dict(data.aus[0]) == {14: 0.2}
    assert facs.au_dict(data.aus[2]) == {4: 1.0, 7: 1.0, 43: 1.0}
    assert data.frames.shape == (3, 5, 48, 48)
    # frames 5562..5590 (5-digit numbers in the names) at 5 positions: every 7th frame
    assert data.frames[0, :, 0, 0].tolist() == level([5562, 5569, 5576, 5583, 5590]).tolist()
    # the macro clip has every tenth frame only: 100, 140, 180, 220, 260 are there; 100..260 at
    # 5 positions is 100, 140, 180, 220, 260
    assert data.frames[1, :, 0, 0].tolist() == level([100, 140, 180, 220, 260]).tolist()
    notes = "\n".join(data.notes)
    assert "row 18 (007_3_2): the offset frame cell holds 'x30'" in notes
    assert "row 19 (007_3_3): unknown emotion 'boredom'" in notes
    assert "row 20 (008_1_1): frame(s) 10 missing" in notes
    assert "row 21 (008_1_2): its frame folder" in notes
    assert "1 row(s) of 'disgust' left out" in notes


def test_error_mode_and_tasks(samm):
    with pytest.raises(DataFormatError, match=r"row 18 \(007_3_2\)"):
        load_samm(samm, crop=False, on_problem="error", verbose=False)
    three = load_samm(samm, task="3", length=3, crop=False, verbose=False)
    assert three.class_names == ("negative", "positive", "surprise")
    assert sorted(three.clips.tolist()) == ["006/006_1_2", "006/006_1_3", "007/007_3_1", "008/008_2_1"]
    assert len(load_samm(samm, task="all", length=3, crop=False, verbose=False)) == 4
    with pytest.raises(ValueError, match="SAMM's tasks"):
        scan_samm(samm, task="7")


def test_header_not_found_says_what_was_expected(tmp_path):
    root = tmp_path / "SAMM"
    header = [h if h != "Onset Frame" else "Start" for h in SAMM_HEADER]
    write_sheet(root / SHEET, header, [samm_row(6, "006_1_2", 1, 2, 3, "Micro", "4", "Anger")], notes=SAMM_NOTES)
    flat_frames(root / "006" / "006_1_2", range(1, 4), name="006_{:05d}.png")
    with pytest.raises(DataFormatError, match=r"no header row .* the closest, row 14, lacks 'Onset Frame'"):
        load_samm(root, verbose=False)
    # a header deeper than the rows searched is not found either
    write_sheet(root / SHEET, SAMM_HEADER, [], notes=[f"n{i}" for i in range(45)])
    with pytest.raises(DataFormatError, match="no header row"):
        scan_samm(root)


def test_face_crop_and_nested_folders(tmp_path):
    # unpacked one level deeper, as an archive may put it: data/samm/SAMM/006/...
    root = tmp_path / "samm"
    write_sheet(root / SHEET, SAMM_HEADER, [samm_row(6, "006_1_2", 5562, 5566, 5570, "Micro", "12", "Happiness")],
                notes=SAMM_NOTES)
    face_frames(root / "SAMM" / "006" / "006_1_2", range(5562, 5571), name="006_{:05d}.jpg")
    data = load_samm(root, length=3, verbose=False)
    assert data.frames.shape == (1, 3, 48, 48) and data.frames[0].std() > 10
    assert data.onset.tolist() == [0] and data.apex.tolist() == [1] and data.offset.tolist() == [2]


def test_found_in_the_data_home(data_home, samm):
    assert samm_path() is None and available()["samm"] is None
    with pytest.raises(DataMissingError, match="SAMM is not in the data home"):
        load_samm()
    samm.rename(data_home / "SAMM")
    assert samm_path() == data_home / "SAMM" and available()["samm"] == data_home / "SAMM"
    assert len(scan_samm().rows) == 4  # task "all": disgust kept
