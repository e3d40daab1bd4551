"""The CASME II reader, on CASME II-layout fixtures the tests make (sheet + frame folders)."""

import numpy as np
import pytest

from coded_clip_fixtures import CASME2_HEADER, LEVEL, casme2_row, face_frames, flat_frames, write_sheet
from fercourse import facs
from fercourse.datasets import DataFormatError, DataMissingError, available
from fercourse.datasets.casme2 import casme2_path, load_casme2, scan_casme2
from fercourse.datasets.coded_clips import dataset_folder, parse_au_codes, task_classes

SHEET = "CASME2-coding-20140508.xlsx"


def _dataset(root, rows, frames):
    """``frames``: {(subject folder, clip): frame numbers} written as flat frames under Cropped/."""
    write_sheet(root / SHEET, CASME2_HEADER, rows)
    for (sub, clip), numbers in frames.items():
        flat_frames(root / "Cropped" / sub / clip, numbers, name="reg_img{}.png")
    return root


@pytest.fixture
def irregular(tmp_path):
    rows = [
        casme2_row(1, "EP01_01f", 10, 14, 20, "4+7+L10", "happiness"),      # sheet row 2: fine
        casme2_row(1, "EP02_01f", 10, "/", 18, "R12", "disgust"),           # 3: apex '/'
        casme2_row(2, "EP03_02", 5, 8, 0, "1+2", "surprise"),               # 4: offset 0
        casme2_row(2, "EP04_01", 5, 8, 12, "12", "joy"),                    # 5: unknown emotion
        casme2_row(3, "EP05_01", "abc", 8, 12, "4", "repression"),          # 6: non-numeric frame cell
        casme2_row(3, "EP06_01", 5, 8, 12, "4", "others"),                  # 7: no frame folder
        casme2_row(3, "EP07_01", 10, 14, 20, "4", "others"),                # 8: onset frame missing
        casme2_row(4, "EP08_01", 5, 8, 12, "4+20", "fear"),                 # 9: not one of the 5 classes
        casme2_row(4, "EP09_01", 5, 8, 12, "R12+38+xx", "happiness"),       # 10: unknown AU, unreadable code
        casme2_row("", "", "", "", "", "", ""),                             # 11: empty row (ignored)
    ]
    frames = {("sub01", "EP01_01f"): range(8, 23), ("sub01", "EP02_01f"): range(10, 19),
              ("sub02", "EP03_02"): range(5, 16), ("sub02", "EP04_01"): range(5, 13),
              ("sub03", "EP05_01"): range(5, 13), ("sub03", "EP07_01"): range(12, 21),
              ("sub04", "EP08_01"): range(5, 13), ("sub04", "EP09_01"): range(5, 13)}
    return _dataset(tmp_path / "CASME2", rows, frames)


def test_parse_au_codes_sides_grades_unknown():
    v, unknown, bad = parse_au_codes("4+7+L10")
    assert facs.au_dict(v) == {4: 1.0, 7: 1.0, 10: 1.0} and unknown == [] and bad == []
    v, unknown, bad = parse_au_codes("R12B + AU25 + 38 + 4(?)")
    assert facs.au_dict(v) == {12: 0.4, 25: 1.0} and unknown == ["AU38"] and bad == ["4(?)"]
    v, _, _ = parse_au_codes(14.0)  # Excel gives a lone number as a float
    assert facs.au_dict(v) == {14: 1.0}
    assert not parse_au_codes("/")[0].any() and not parse_au_codes(None)[0].any()


def test_reads_rows_and_reports_every_irregular_cell(irregular):
    data = load_casme2(irregular, length=5, verbose=False)
    assert data.name == "casme2" and data.class_names == ("happiness", "disgust", "repression", "surprise", "others")
    assert data.clips.tolist() == ["sub01/EP01_01f", "sub01/EP02_01f", "sub02/EP03_02", "sub04/EP09_01"]
    assert data.frames.shape == (4, 5, 48, 48) and data.micro.all()
    assert data.subjects.tolist() == [1, 1, 2, 4]
    # onset..offset (10..20) resampled to 5 frames: 10, 12.5, 15, 17.5, 20, blended between neighbours
    levels = data.frames[0, :, 24, 24].astype(float) / LEVEL
    assert np.allclose(levels, [10, 12.5, 15, 17.5, 20], atol=0.2)
    assert (data.onset[0], data.apex[0], data.offset[0]) == (0, 2, 4)  # apex 14 -> 1.6 -> 2
    assert data.fps[0] == pytest.approx(200 * 4 / 10)
    assert facs.au_dict(data.aus[0]) == {4: 1.0, 7: 1.0, 10: 1.0}
    notes = "\n".join(data.notes)
    assert "row 3 (EP02_01f): apex '/'" in notes and "middle frame 14" in notes
    assert "row 4 (EP03_02): offset 0" in notes and "last frame, 15" in notes
    assert "row 5 (EP04_01): unknown emotion 'joy'" in notes
    assert "row 6 (EP05_01): the onset frame cell holds 'abc'" in notes
    assert "row 7 (EP06_01): its frame folder" in notes and "does not exist" in notes
    assert "row 8 (EP07_01): frame(s) 10 missing" in notes
    assert "1 row(s) of 'fear' left out" in notes
    assert "AU38 is not among the course's AUs" in notes and "row(s): 10" in notes
    assert "'xx' not read" in notes
    assert sum(n.startswith("skipped") for n in data.notes) == 4
    assert "note(s) on irregular rows" in data.describe()


def test_offset_zero_runs_to_the_last_frame(irregular):
    data = load_casme2(irregular, length=3, verbose=False)
    i = data.clips.tolist().index("sub02/EP03_02")
    assert np.allclose(data.frames[i, :, 0, 0].astype(float) / LEVEL, [5, 10, 15], atol=0.2)


def test_on_problem_error_names_the_row(irregular):
    with pytest.raises(DataFormatError, match=r"row 5 \(EP04_01\): unknown emotion 'joy'"):
        load_casme2(irregular, on_problem="error", verbose=False)


def test_tasks_map_emotions(irregular):
    three = load_casme2(irregular, task="3", length=3, verbose=False)
    assert three.class_names == ("negative", "positive", "surprise")
    got = dict(zip(three.clips.tolist(), (three.class_names[e] for e in three.emotion)))
    assert got["sub04/EP08_01"] == "negative" and got["sub01/EP01_01f"] == "positive"
    assert got["sub02/EP03_02"] == "surprise" and got["sub01/EP02_01f"] == "negative"
    assert len(load_casme2(irregular, task="all", length=3, verbose=False)) == 5
    with pytest.raises(ValueError, match="tasks are"):
        load_casme2(irregular, task="7")


def test_context_widens_the_interval(irregular):
    # 0.01 s at 200 frames/s = 2 frames each side: 8..22 for the clip coded 10..20
    data = load_casme2(irregular, length=3, context=0.01, verbose=False)
    assert np.allclose(data.frames[0, :, 0, 0].astype(float) / LEVEL, [8, 15, 22], atol=0.2)
    assert (data.onset[0], data.apex[0], data.offset[0]) == (0, 1, 2)  # 10, 14, 20 on the grid 8..22


def test_unexpected_header_is_an_error(tmp_path):
    header = [h if h != "ApexFrame" else "Apex" for h in CASME2_HEADER]
    root = tmp_path / "CASME2"
    write_sheet(root / SHEET, header, [casme2_row(1, "EP01", 1, 2, 3, "4", "others")])
    (root / "Cropped").mkdir()
    with pytest.raises(DataFormatError, match="lacks 'ApexFrame'"):
        load_casme2(root, verbose=False)


def test_raw_frames_get_one_face_box_per_clip(tmp_path):
    root = tmp_path / "CASME2"
    write_sheet(root / SHEET, CASME2_HEADER, [casme2_row(1, "EP01_01f", 46, 50, 54, "6+12", "happiness")])
    face_frames(root / "CASME2_RAW_selected" / "sub01" / "EP01_01f", range(46, 55))
    data = load_casme2(root, length=4, size=32, verbose=False)
    assert data.frames.shape == (1, 4, 32, 32)
    from fercourse import faces, images

    onset = images.to_gray(images.load_image(root / "CASME2_RAW_selected/sub01/EP01_01f/img46.jpg"))
    box = faces.detect_faces(onset, min_size=32)[0]
    want = faces.crop_faces(onset, [box], size=32)[0]
    assert np.abs(data.frames[0, 0].astype(int) - want).mean() < 1.0
    # the face fills the crop: the background's flat grey is not what it shows
    assert data.frames[0, 0].std() > 10


def test_raw_frames_are_each_decoded_once(tmp_path, monkeypatch):
    from fercourse.datasets import coded_clips

    root = tmp_path / "CASME2"
    write_sheet(root / SHEET, CASME2_HEADER, [casme2_row(1, "EP01_01f", 46, 50, 54, "6+12", "happiness")])
    face_frames(root / "CASME2_RAW_selected" / "sub01" / "EP01_01f", range(46, 55))
    decoded = []
    real_gray = coded_clips._gray
    monkeypatch.setattr(coded_clips, "_gray", lambda path: decoded.append(path.name) or real_gray(path))
    data = load_casme2(root, length=5, size=32, verbose=False)  # frames 46, 48, 50, 52, 54
    assert len(data) == 1
    # the onset frame serves the face box and the clip; the apex frame is not read for the box
    assert sorted(decoded) == sorted(f"img{k}.jpg" for k in (46, 48, 50, 52, 54))


def test_raw_frames_without_a_face_are_skipped(tmp_path):
    root = tmp_path / "CASME2"
    write_sheet(root / SHEET, CASME2_HEADER, [casme2_row(1, "EP01_01f", 1, 2, 3, "12", "happiness"),
                                              casme2_row(1, "EP02_01f", 46, 50, 54, "12", "happiness")])
    flat_frames(root / "CASME2_RAW_selected" / "sub01" / "EP01_01f", range(1, 4), name="img{}.jpg")
    face_frames(root / "CASME2_RAW_selected" / "sub01" / "EP02_01f", range(46, 55))
    data = load_casme2(root, length=3, verbose=False)
    assert data.clips.tolist() == ["sub01/EP02_01f"]
    assert any("row 2 (sub01/EP01_01f): no face found" in n for n in data.notes)


def test_found_in_the_data_home_and_listed(data_home, irregular):
    assert casme2_path() is None
    with pytest.raises(DataMissingError, match="CASME II is not in the data home"):
        load_casme2()
    irregular.rename(data_home / "CASME2")
    assert casme2_path() == data_home / "CASME2"
    assert available()["casme2"] == data_home / "CASME2"
    found = scan_casme2()
    assert len(found.rows) == 4 and found.skipped == 4


def test_missing_pieces_are_named(tmp_path):
    with pytest.raises(DataMissingError, match="no such folder"):
        load_casme2(tmp_path / "nowhere")
    (tmp_path / "CASME2").mkdir()
    with pytest.raises(DataMissingError, match="no coding sheet"):
        load_casme2(tmp_path / "CASME2")
    write_sheet(tmp_path / "CASME2" / SHEET, CASME2_HEADER, [])
    with pytest.raises(DataMissingError, match="no frame folder"):
        load_casme2(tmp_path / "CASME2")
    with pytest.raises(ValueError, match="frames must be"):
        load_casme2(tmp_path / "CASME2", frames="color")


def test_data_info_lists_casme2_and_samm(data_home, irregular, capsys):
    from fercourse import cli

    irregular.rename(data_home / "CASME2")
    assert cli.main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert f"casme2   {data_home / 'CASME2'}" in out and "samm     not present" in out
    assert "casme2 (every emotion): CASME2-coding-20140508.xlsx: 5 readable clip(s) of 3 subject(s)" in out
    assert "4 row(s) skipped" in out


def test_task_classes_keep_the_mapping_order_and_sort_the_3_class_task():
    tasks = {"2": {"b": "b", "a": "a"}, "3": {"x": "surprise", "y": "negative", "z": "negative"}}
    assert task_classes(tasks, "2", "D") == (tasks["2"], ("b", "a"))
    assert task_classes(tasks, "3", "D") == (tasks["3"], ("negative", "surprise"))
    with pytest.raises(ValueError, match=r"task='4': D's tasks are '2', '3'"):
        task_classes(tasks, "4", "D")


def test_dataset_folder_is_the_first_named_folder_holding_a_sheet(tmp_path):
    (tmp_path / "A").mkdir()                       # no sheet: not it
    (tmp_path / "B" / "sub").mkdir(parents=True)
    (tmp_path / "B" / "sub" / "codes-1.xlsx").write_bytes(b"")
    assert dataset_folder(tmp_path, ("A", "B"), "codes-*.xlsx") == tmp_path / "B"
    assert dataset_folder(tmp_path, ("A",), "codes-*.xlsx") is None


def test_locate_sheet_takes_the_path_given_else_searches_the_data_home(data_home):
    from fercourse.datasets.coded_clips import locate_sheet

    how = "not in {home}"
    with pytest.raises(DataMissingError, match=f"not in {data_home}"):
        locate_sheet(None, ("D",), "codes-*.xlsx", how)
    (data_home / "D" / "sub").mkdir(parents=True)
    sheet = data_home / "D" / "sub" / "codes-1.xlsx"
    sheet.write_bytes(b"")
    assert locate_sheet(None, ("D",), "codes-*.xlsx", how) == (data_home / "D", sheet)
    elsewhere = data_home.parent / "elsewhere"
    with pytest.raises(DataMissingError, match="elsewhere: no such folder"):
        locate_sheet(elsewhere, ("D",), "codes-*.xlsx", how)
    elsewhere.mkdir()
    with pytest.raises(DataMissingError, match="no coding sheet codes-"):
        locate_sheet(elsewhere, ("D",), "codes-*.xlsx", how)
