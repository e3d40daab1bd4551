"""CK+ as users get it: the official distribution (folders or zips), CK+48, and each broken input."""

import shutil
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import encode, face_pixels
from fercourse import cli, facs, faces, render
from fercourse.datasets import (DataFormatError, DataMissingError, available, ckplus_path, fetch_ckplus,
                                load_ckplus, without_contempt)
from fercourse.datasets import ckplus
from fercourse.labels import EMOTIONS, EMOTIONS_WITH_CONTEMPT

FRAMES = 5  # frames per sequence: 1 neutral, then the expression rising to its peak at 5

# (subject, sequence): (CK+ emotion code or None, FACS lines, AUs drawn at the peak, options)
SEQUENCES = {
    ("S005", "001"): (5, "   6.0000000e+00   3.0000000e+00\n   1.2000000e+01   4.0000000e+00\n"
                         "   2.5000000e+01   0.0000000e+00\n", {"AU6": 0.6, "AU12": 0.8, "AU25": 0.4}, {}),
    ("S005", "002"): (None, "   1.2000000e+01   2.0000000e+00\n   6.2000000e+01   0.0000000e+00\n",
                      {"AU12": 0.4}, {}),
    ("S010", "001"): (7, "   1.0000000e+00   2.0000000e+00\n   2.0000000e+00   2.0000000e+00\n"
                         "   2.6000000e+01   3.0000000e+00\n   2.7000000e+01   2.0000000e+00\n",
                      {"AU1": 0.4, "AU2": 0.4, "AU26": 0.6}, {"colour": True, "height": 480}),
    ("S010", "002"): (2, "   1.4000000e+01   1.0000000e+00\n", {"R14": 0.4, "R12": 0.3}, {}),
    ("S011", "001"): (1, "   4.0000000e+00   3.0000000e+00\n\n   7.0000000e+00   2.0000000e+00\n"
                         "   2.3000000e+01   0.0000000e+00\n", {"AU4": 0.6, "AU7": 0.4, "AU23": 0.6},
                      {"blank": 4}),
}
SUBJECT_SEEDS = {"S005": 0, "S010": 1, "S011": 2}


def _frame_face(aus, identity, frame):
    level = (frame - 1) / (FRAMES - 1)
    return render.render_face({k: v * level for k, v in aus.items()}, identity, size=200)


def _detectable_identity(subject, seed):
    """An identity whose every frame the tuned Haar cascade finds (most identities qualify)."""
    drawn = [aus for (s, _), (_, _, aus, _) in SEQUENCES.items() if s == subject]
    for s in range(seed * 100, seed * 100 + 100):
        identity = render.Identity.random(np.random.default_rng(s))
        if all(len(faces.detect_faces(_canvas(_frame_face(aus, identity, f)), **faces.TUNED_PARAMS))
               for aus in drawn for f in range(1, FRAMES + 1)):
            return identity
    raise AssertionError("no detectable identity found")


def _canvas(face, height=490):
    canvas = np.full((height, 640), 110, np.uint8)
    top = (height - face.shape[0]) // 2
    canvas[top:top + face.shape[0], 220:220 + face.shape[1]] = face
    return canvas


def _write_official(root: Path):
    identities = {s: _detectable_identity(s, seed) for s, seed in SUBJECT_SEEDS.items()}
    for (subject, seq), (code, facs_text, aus, opts) in SEQUENCES.items():
        img_dir = root / "cohn-kanade-images" / subject / seq
        img_dir.mkdir(parents=True)
        for frame in range(1, FRAMES + 1):
            image = _canvas(_frame_face(aus, identities[subject], frame), opts.get("height", 490))
            if opts.get("blank") == frame:
                image = np.full_like(image, 110)           # no face in this frame
            if opts.get("colour"):
                image = cv2.merge([image, (image * 0.9).astype(np.uint8), image])
            (img_dir / f"{subject}_{seq}_{frame:08d}.png").write_bytes(encode(image))
        peak = f"{subject}_{seq}_{FRAMES:08d}"
        if code is not None:
            (root / "Emotion" / subject / seq).mkdir(parents=True)
            (root / "Emotion" / subject / seq / f"{peak}_emotion.txt").write_text(f"   {code:.7e}\n")
        (root / "FACS" / subject / seq).mkdir(parents=True)
        (root / "FACS" / subject / seq / f"{peak}_facs.txt").write_text(facs_text)
    (root / "Emotion" / "S005" / ".DS_Store").write_bytes(b"\0\1")  # junk a Mac leaves: ignored


@pytest.fixture(scope="session")
def official_template(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckplus") / "CK+"
    _write_official(root)
    return root


@pytest.fixture
def official(official_template, tmp_path, monkeypatch):
    """A fresh copy of the unpacked official layout, and a data home (with its cache) of the test's own."""
    monkeypatch.setenv("FERCOURSE_DATA", str(tmp_path / "home"))
    monkeypatch.delenv("FERCOURSE_CACHE", raising=False)
    root = tmp_path / "CK+"
    shutil.copytree(official_template, root)
    return root


def _zip_tree(root: Path, folder: str, out: Path, prefix: str = ""):
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted((root / folder).rglob("*")):
            zf.write(p, prefix + p.relative_to(root).as_posix())
    return out


@pytest.fixture
def official_zips(official, tmp_path):
    """The official zips, as the authors send them, in a downloads folder with a stray file."""
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    _zip_tree(official, "cohn-kanade-images", downloads / "extended-cohn-kanade-images.zip")
    _zip_tree(official, "Emotion", downloads / "Emotion_labels.zip")
    _zip_tree(official, "FACS", downloads / "FACS_labels.zip")
    (downloads / "holiday.jpg").write_bytes(encode(face_pixels(1)))
    return downloads


def _label(name):
    return EMOTIONS_WITH_CONTEMPT.index(name)


# --------------------------------------------------------------------------- the official layout
def test_reads_the_official_folders(official):
    with pytest.warns(UserWarning, match=r"no face found in 1 frame.*S011_001_00000004\.png"):
        data, report = load_ckplus(official, return_report=True)
    assert data.name == "ck+" and data.class_names == EMOTIONS_WITH_CONTEMPT
    assert data.images.shape[1:] == (48, 48) and data.images.dtype == np.uint8
    # four labelled sequences, three peak frames each, less S011's faceless frame 4
    assert len(data) == 11
    by_seq = {s: data.labels[data.extras["sequences"] == s] for s in np.unique(data.extras["sequences"])}
    assert sorted(by_seq) == ["S005_001", "S010_001", "S010_002", "S011_001"]
    assert set(by_seq["S005_001"]) == {_label("happy")} and set(by_seq["S010_001"]) == {_label("surprise")}
    assert set(by_seq["S010_002"]) == {_label("contempt")} and set(by_seq["S011_001"]) == {_label("angry")}
    assert data.extras["frames"][data.extras["sequences"] == "S011_001"].tolist() == [3, 5]
    assert data.extras["frames"][data.extras["sequences"] == "S005_001"].tolist() == [3, 4, 5]
    assert set(data.subjects) == {"S005", "S010", "S011"} and set(data.splits) == {""}
    assert not data.extras["neutral"].any()
    assert report.sequences == 5 and report.subjects == 3 and report.emotion_labels == 4 and report.facs_files == 5
    assert report.no_face == ["cohn-kanade-images/S011/001/S011_001_00000004.png"]
    assert report.other_aus == {27: 1, 62: 1}  # S005_002's AU62 is counted though the sequence is unlabelled
    assert report.frames == 12 and "593" in "; ".join(report.differences())


def test_action_units_presence_and_intensity(official):
    with pytest.warns(UserWarning):
        data = load_ckplus(official)
    first = np.flatnonzero(data.extras["sequences"] == "S005_001")[0]
    present, aus = data.extras["au_present"][first], data.extras["aus"][first]
    assert present.dtype == np.int8 and aus.dtype == np.float32 and aus.shape == (len(facs.AUS),)
    on = {facs.AUS[j] for j in np.flatnonzero(present)}
    assert on == {6, 12, 25}
    assert aus[facs.AU_INDEX[6]] == pytest.approx(facs.FACS_GRADES["C"])
    assert aus[facs.AU_INDEX[12]] == pytest.approx(facs.FACS_GRADES["D"])
    assert np.isnan(aus[facs.AU_INDEX[25]])              # coded present without a grade
    assert aus[facs.AU_INDEX[4]] == 0                    # absent
    surprise = np.flatnonzero(data.extras["sequences"] == "S010_001")[0]
    assert {facs.AUS[j] for j in np.flatnonzero(data.extras["au_present"][surprise])} == {1, 2, 26}  # AU27 dropped


def test_neutral_frames_and_unlabelled_sequences(official):
    with pytest.warns(UserWarning):
        data = load_ckplus(official, include_neutral=True, all_sequences=True, peak_frames=2)
    neutral = data.extras["neutral"]
    assert neutral.sum() == 5 and (data.labels[neutral] == EMOTIONS.index("neutral")).all()
    assert (data.extras["frames"][neutral] == 1).all()
    assert (data.extras["au_present"][neutral] == 0).all() and (data.extras["aus"][neutral] == 0).all()
    unlabelled = data.extras["sequences"] == "S005_002"
    assert (data.labels[unlabelled & ~neutral] == ckplus.UNLABELLED).all() and unlabelled.sum() == 3
    # two peak frames per sequence (S011 loses frame 4)
    assert len(data) == 5 + 2 * 5 - 1


def test_zips_read_like_folders(official, official_zips):
    with pytest.warns(UserWarning):
        a = load_ckplus(official, use_cache=False)
    with pytest.warns(UserWarning):
        b = load_ckplus(official_zips, use_cache=False)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.extras["aus"], b.extras["aus"])
    np.testing.assert_array_equal(a.subjects, b.subjects)


def test_one_zip_holding_everything(official, tmp_path):
    everything = tmp_path / "ckplus-all.zip"
    with zipfile.ZipFile(everything, "w") as zf:
        for p in sorted(official.rglob("*")):
            zf.write(p, "CK+/" + p.relative_to(official).as_posix())
    with pytest.warns(UserWarning):
        a = load_ckplus(official, use_cache=False)
    with pytest.warns(UserWarning):
        b = load_ckplus(everything, use_cache=False)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.extras["sequences"], b.extras["sequences"])


def test_cached_like_fer2013(official, monkeypatch):
    with pytest.warns(UserWarning):
        first = load_ckplus(official)
    caches = list((official.parent / "home" / ".cache").glob("ckplus_*"))
    assert len(caches) == 1

    def no_cropping(*args, **kwargs):
        raise AssertionError("a cached load must not crop faces again")

    monkeypatch.setattr(faces, "crop_face", no_cropping)
    with pytest.warns(UserWarning, match="no face found"):   # the summary is repeated from the cache
        again = load_ckplus(official)
    np.testing.assert_array_equal(first.images, again.images)
    np.testing.assert_array_equal(first.extras["aus"], again.extras["aus"])
    # another choice of frames is another cache, cropped anew
    with pytest.raises(AssertionError, match="must not crop"):
        load_ckplus(official, peak_frames=1)


def test_without_contempt(official):
    with pytest.warns(UserWarning):
        data = load_ckplus(official, all_sequences=True)
    kept = without_contempt(data)
    assert kept.class_names == EMOTIONS
    assert _label("contempt") not in kept.labels and (kept.labels >= 0).all()
    assert len(kept) == len(data) - np.sum(data.labels == _label("contempt")) - np.sum(data.labels < 0)
    with pytest.raises(ValueError, match="expected classes"):
        without_contempt(kept)


# --------------------------------------------------------------------------- broken inputs
def _emotion_file(root, subject="S005", seq="001"):
    return next((root / "Emotion" / subject / seq).glob("*_emotion.txt"))


@pytest.mark.parametrize("text, message", [
    ("", r"no number; expected one emotion code 0\.\.7"),
    ("   \n", "no number"),
    ("   happy\n", "'happy' is not a number"),
    ("   9.0000000e+00\n", r"emotion code 9 is outside 0\.\.7"),
    ("   2.5000000e+00\n", r"emotion code 2.5 is outside 0\.\.7"),
    ("   3.0000000e+00   4.0000000e+00\n", "2 numbers; expected one"),
])
def test_broken_emotion_file(official, text, message):
    path = _emotion_file(official)
    path.write_text(text)
    with pytest.raises(DataFormatError, match=rf"S005_001_00000005_emotion\.txt: {message}"):
        load_ckplus(official)


@pytest.mark.parametrize("line, message", [
    ("   1.0000000e+00", "is not two numbers"),
    ("   AU1   2", "is not two numbers"),
    ("   1.0 2.0 3.0", "is not two numbers"),
    ("   1.5000000e+00   2.0000000e+00", "AU 1.5 is not an action-unit number"),
    ("   1.2000000e+01   7.0000000e+00", r"intensity 7 of AU12 is outside 0\.\.5"),
])
def test_broken_facs_line(official, line, message):
    path = next((official / "FACS" / "S010" / "002").glob("*_facs.txt"))
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(DataFormatError, match=rf"S010_002_00000005_facs\.txt, line 2: .*{message}"):
        load_ckplus(official)


@pytest.mark.parametrize("tree, suffix", [("Emotion", "_emotion.txt"), ("FACS", "_facs.txt")])
def test_label_file_without_its_image_sequence(official, tree, suffix):
    folder = official / tree / "S099" / "001"
    folder.mkdir(parents=True)
    (folder / f"S099_001_00000005{suffix}").write_text("   1.0000000e+00   1.0000000e+00\n")
    with pytest.raises(DataFormatError, match=rf"S099_001_00000005{suffix}: its image sequence "
                                              r"cohn-kanade-images/S099/001/ is missing"):
        load_ckplus(official)


def test_label_file_naming_a_missing_frame(official):
    path = _emotion_file(official)
    path.rename(path.with_name("S005_001_00000009_emotion.txt"))
    with pytest.raises(DataFormatError, match=r"S005_001_00000009_emotion\.txt: names frame 9, which its "
                                              r"image sequence S005/001 lacks \(frames 1\.\.5\)"):
        load_ckplus(official)


def test_misnamed_image(official):
    (official / "cohn-kanade-images" / "S005" / "001" / "S005_001_00000002.png").rename(
        official / "cohn-kanade-images" / "S005" / "001" / "S006_001_00000002.png")
    with pytest.raises(DataFormatError, match=r"S005/001/S006_001_00000002\.png: expected cohn-kanade-images/"):
        load_ckplus(official)


def test_zip_without_the_expected_folders(official, official_zips):
    bad = official_zips / "Emotion_labels.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("labels/S005/001/S005_001_00000005_emotion.txt", "   5.0000000e+00\n")
    with pytest.raises(DataFormatError, match=r"Emotion_labels\.zip: holds no Emotion/ folder"):
        load_ckplus(official_zips)


def test_a_zip_that_is_not_ckplus(tmp_path):
    z = tmp_path / "photos.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("holiday/beach.png", encode(face_pixels(2)))
    with pytest.raises(DataFormatError, match=r"photos\.zip: holds neither CK\+'s folders"):
        load_ckplus(z)


def test_missing_emotion_folder(official):
    shutil.rmtree(official / "Emotion")
    with pytest.raises(DataFormatError, match=r"no Emotion/ folder found.*Emotion_labels\.zip"):
        load_ckplus(official)


def test_no_face_anywhere(official):
    for p in (official / "cohn-kanade-images").rglob("*.png"):
        p.write_bytes(encode(np.full((490, 640), 110, np.uint8)))
    with pytest.raises(DataFormatError, match="no face found in any frame read"):
        load_ckplus(official)


def test_bad_arguments_and_absence(official, tmp_path):
    with pytest.raises(ValueError, match="peak_frames"):
        load_ckplus(official, peak_frames=0)
    with pytest.raises(ValueError, match="size"):
        load_ckplus(official, size=8)
    with pytest.raises(DataMissingError, match="no such file"):
        load_ckplus(tmp_path / "nowhere")
    with pytest.raises(DataMissingError, match=r"fercourse data fetch ck\+ --from"):
        load_ckplus()                                     # the test's data home is empty


# --------------------------------------------------------------------------- CK+48
@pytest.fixture
def ck48(tmp_path):
    root = tmp_path / "CK+48"
    files = {"anger": ["S010_004_00000017", "S010_004_00000018", "S010_004_00000019"],
             "happy": ["S011_006_00000011", "S011_006_00000012", "S011_006_00000013"],
             "contempt": ["S013_001_00000009", "S013_001_00000010", "S013_001_00000011"]}
    for i, (cls, names) in enumerate(files.items()):
        (root / cls).mkdir(parents=True)
        for j, name in enumerate(names):
            (root / cls / f"{name}.png").write_bytes(encode(face_pixels(10 * i + j)))
    return root


def test_reads_ckplus48(ck48):
    data, report = load_ckplus(ck48, use_cache=False, return_report=True)
    assert data.name == "ck+48" and len(data) == 9 and report.layout == "ck+48"
    assert sorted(set(data.extras["sequences"])) == ["S010_004", "S011_006", "S013_001"]
    assert "aus" not in data.extras and set(data.subjects) == {"S010", "S011", "S013"}
    angry = data.extras["sequences"] == "S010_004"
    assert set(data.labels[angry]) == {_label("angry")} and data.extras["frames"][angry].tolist() == [17, 18, 19]
    two = load_ckplus(ck48, use_cache=False, peak_frames=2)
    assert len(two) == 6 and 17 not in two.extras["frames"]
    bigger = load_ckplus(ck48, use_cache=False, size=64)
    assert bigger.images.shape == (9, 64, 64)
    with pytest.warns(UserWarning, match="only peak frames"):
        load_ckplus(ck48, use_cache=False, include_neutral=True)


def test_ckplus48_without_subjects_in_names(ck48):
    for i, p in enumerate(sorted(ck48.rglob("*.png"))):
        p.rename(p.with_name(f"face{i}.png"))
    with pytest.raises(DataFormatError, match="face0: CK\\+48 file names must carry subject, sequence and frame"):
        load_ckplus(ck48, use_cache=False)


# --------------------------------------------------------------------------- the data home
def test_ckplus_path_and_available(official, ck48, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert ckplus_path(home) is None and available(home)["ck+"] is None
    shutil.copytree(ck48, home / "CK+48")
    assert ckplus_path(home) == home / "CK+48"
    shutil.copytree(official, home / "CK+")
    assert ckplus_path(home) == home / "CK+" and available(home)["ck+"] == home / "CK+"   # official first
    (home / "ckplus").mkdir()                                                         # empty: not CK+
    shutil.rmtree(home / "CK+")
    assert ckplus_path(home) == home / "CK+48"


def test_fetch_places_only_ckplus(official_zips, tmp_path):
    home = tmp_path / "fetched"
    target = fetch_ckplus(official_zips, data_home=home)
    assert target == home / "CK+"
    assert sorted(p.name for p in target.iterdir()) == ["Emotion_labels.zip", "FACS_labels.zip",
                                                         "extended-cohn-kanade-images.zip"]
    assert ckplus_path(home) == target
    with pytest.raises(FileExistsError, match="already exists"):
        fetch_ckplus(official_zips, data_home=home)
    assert fetch_ckplus(official_zips, data_home=home, force=True) == target


def test_fetch_unpacked_and_ckplus48(official, ck48, tmp_path):
    home = tmp_path / "fetched"
    (official / "notes.txt").write_text("mine")
    target = fetch_ckplus(official, data_home=home)
    assert sorted(p.name for p in target.iterdir()) == ["Emotion", "FACS", "cohn-kanade-images"]
    assert fetch_ckplus(ck48, data_home=home) == home / "CK+48"
    assert len(list((home / "CK+48").rglob("*.png"))) == 9


def test_fetch_checks_before_placing(official, tmp_path):
    home = tmp_path / "fetched"
    _emotion_file(official).write_text("   12\n")
    with pytest.raises(DataFormatError, match="outside 0..7"):
        fetch_ckplus(official, data_home=home)
    assert not (home / "CK+").exists()


def test_fetch_without_a_source_says_what_to_request(tmp_path):
    with pytest.raises(DataMissingError) as err:
        fetch_ckplus(data_home=tmp_path)
    text = str(err.value)
    for part in ("Emotion_labels.zip", "FACS_labels.zip", "extended-cohn-kanade-images.zip",
                 f"{tmp_path}/CK+/", "fercourse data fetch ck+ --from"):
        assert part in text


# --------------------------------------------------------------------------- the command line
def test_cli_fetch_and_info(official_zips, tmp_path, monkeypatch, capsys):
    home = tmp_path / "clihome"
    monkeypatch.setenv("FERCOURSE_DATA", str(home))
    assert cli.main(["data", "fetch", "ck+"]) == 1
    assert "Emotion_labels.zip" in capsys.readouterr().err
    assert cli.main(["data", "fetch", "ck+", "--from", str(official_zips)]) == 0
    assert "CK+ checked and in place" in capsys.readouterr().out
    assert cli.main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "5 sequences of 3 subjects, 4 with an emotion label" in out
    assert "contempt" in out and "(8 faces of FER2013's classes, without contempt)" in out


def test_cli_fetch_broken(official, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FERCOURSE_DATA", str(tmp_path / "clihome"))
    _emotion_file(official).write_text("")
    assert cli.main(["data", "fetch", "ck+", "--from", str(official)]) == 2
    assert "S005_001_00000005_emotion.txt: no number" in capsys.readouterr().err
