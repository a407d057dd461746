"""``wavenet`` training: resumes from its checkpoints, logs progress, exports weights the codec loads.

Runs the real trainer for a few steps of the ``tiny`` architecture on a small synthetic
data cache in ``data.prepare``'s format (no Debian packages needed).
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow_compression")


def _validation_folder(folder):
    """One 1 s FLAC clip of a noisy, amplitude-modulated tone at 16 kHz."""
    from neuralav.plugins.wavenet.data import write_flac

    t = np.arange(16000) / 16000
    rng = np.random.default_rng(1)
    x = (0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
         + 0.01 * rng.standard_normal(len(t)))
    write_flac(folder / "clip.flac", x)
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cache):
    """Run ``t`` of the tiny model: one step, resumed for a second, then exported.
    Returns (root folder, printed output of each of the three calls, exported weights path).
    Module-scoped: each call traces a training step, the slow part (the suite's time budget)."""
    from neuralav.plugins.wavenet import train

    root = tmp_path_factory.mktemp("runs")
    validation = _validation_folder(tmp_path_factory.mktemp("validation"))
    common = ["--run", "t", "--root", str(root), "--config", "tiny", "--batch", "2",
              "--seconds", "0.1", "--data-cache", str(cache), "--log-every", "1", "--save-every", "100"]
    outputs = []
    first = ["--steps", "1", "--validate-every", "1", "--validation-data", str(validation)]
    for extra in (first, ["--steps", "2"], ["--export", str(root / "export")]):
        capture = io.StringIO()
        with contextlib.redirect_stdout(capture):
            assert train.main(common + extra) == 0
        outputs.append(capture.getvalue())
    return root, outputs, root / "export" / "wavenet.npz"


def test_training_resumes_and_exports_weights_the_codec_loads(trained):
    from neuralav.plugins.wavenet.codec import Bundle

    root, (first, second, exported), path = trained
    # One step per run: each run traces only the level it trains (tracing is the slow part).
    assert "step 1 level 0 loss" in first and "saved step 1" in first
    # --validate-every: real metrics of every level on the validation clips, through the model
    for level in range(3):
        line = next(row for row in first.splitlines() if row.startswith(f"validation step 1 level {level} "))
        assert " kbps " in line and " stoi " in line and " snr " in line
    assert "validation step" not in second
    assert "at step 1" in second and "step 2 level 1 loss" in second and "saved step 2" in second
    log = (root / "t" / "commands.log").read_text().splitlines()
    assert len(log) == 2 and "step 1:" in log[1]
    assert f"exported step 2 to {path}" in exported
    bundle = Bundle(path)
    assert bundle.meta["step"] == 2 and bundle.config.channels == (4, 4, 8, 8)
    with np.load(path, allow_pickle=False) as archive:
        assert {"level0/cdf", "level2/cdf_offset", "w/enc/in_w"} <= set(archive.files)


def test_validation_without_clips_names_the_command_that_writes_them(tmp_path, cache):
    from neuralav.plugins.wavenet import train

    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no validation clips in .*wavenet.data"):
        train.main(["--run", "v", "--root", str(tmp_path / "runs"), "--config", "tiny", "--steps", "1",
                    "--data-cache", str(cache), "--validate-every", "1",
                    "--validation-data", str(tmp_path / "empty")])


def test_an_older_kept_checkpoint_can_be_exported(trained):
    from neuralav.plugins.wavenet import train
    from neuralav.plugins.wavenet.codec import Bundle

    root = trained[0]
    common = ["--run", "t", "--root", str(root), "--export", str(root / "older")]
    with contextlib.redirect_stdout(io.StringIO()):
        assert train.main(common + ["--export-step", "1"]) == 0
    assert Bundle(root / "older" / "wavenet.npz").meta["step"] == 1
    with pytest.raises(SystemExit, match=r"no checkpoint of step 7 \(kept: 1, 2\)"):
        train.main(common + ["--export-step", "7"])
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as error:
        train.main(["--run", "t", "--root", str(root), "--export-step", "1"])  # training from it: refused
    assert "--export-step needs --export" in error.getvalue()


@pytest.fixture(scope="module")
def mean_of_steps_1_and_2(trained):
    """Run ``t``'s checkpoints 1 and 2 exported as their mean: (path, printed output).
    Shared by the averaging tests (an export builds every level's coding tables)."""
    from neuralav.plugins.wavenet import train

    root = trained[0]
    path = root / "mean" / "wavenet.npz"
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert train.main(["--run", "t", "--root", str(root), "--export", str(path.parent),
                           "--export-step", "1,2"]) == 0
    return path, printed.getvalue()


def test_several_kept_checkpoints_export_as_the_mean_of_their_weights(trained, mean_of_steps_1_and_2):
    import tensorflow as tf

    from neuralav.plugins.wavenet import train
    from neuralav.plugins.wavenet.codec import Bundle

    root = trained[0]
    common = ["--run", "t", "--root", str(root)]
    path, printed = mean_of_steps_1_and_2
    assert f"exported the mean of steps 1, 2 to {path}" in printed
    steps = [tf.train.load_checkpoint(str(root / "t" / "ckpt" / f"ckpt-{s}")) for s in (1, 2)]
    mean = np.load(path, allow_pickle=False)
    for name in ("enc/in_w", "dec/s2/b1/gate_b", "dec/out_w"):
        key = "model/params/" + name.replace("/", ".S") + "/.ATTRIBUTES/VARIABLE_VALUE"
        one, two = (reader.get_tensor(key) for reader in steps)
        assert not np.allclose(one, two)  # the step moved them: the mean is neither
        np.testing.assert_allclose(mean["w/" + name], (one.astype(np.float64) + two) / 2, rtol=1e-6, atol=1e-7)
    bundle = Bundle(path)  # the codec loads it: coding tables of the mean prior included
    assert bundle.meta["averaged_steps"] == [1, 2] and bundle.meta["step"] == 2
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as error:
        train.main(common + ["--export", str(root / "bad"), "--export-step", "1,1"])
    assert "names a step twice" in error.getvalue()


def test_checkpoints_of_another_run_average_in_with_export_also(trained, mean_of_steps_1_and_2):
    import shutil

    from neuralav.plugins.wavenet import train
    from neuralav.plugins.wavenet.codec import Bundle
    from neuralav.plugins.wavenet.model import CONFIGS

    root = trained[0]
    if not (root / "u").exists():  # run `u`: a copy of run `t`, so the soup t:1 + u:2 is t's mean of 1 and 2
        shutil.copytree(root / "t", root / "u")
    common = ["--run", "t", "--root", str(root)]
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert train.main(common + ["--export", str(root / "soup"), "--export-step", "1",
                                    "--export-also", "u:2"]) == 0
    assert "the mean of t/ckpt-1, u/ckpt-2" in printed.getvalue()
    soup = np.load(root / "soup" / "wavenet.npz", allow_pickle=False)
    mean = np.load(mean_of_steps_1_and_2[0], allow_pickle=False)
    for key in ("w/enc/in_w", "w/dec/out_w", "level1/cdf"):
        np.testing.assert_array_equal(soup[key], mean[key])
    assert Bundle(root / "soup" / "wavenet.npz").meta["averaged"] == ["t/ckpt-1", "u/ckpt-2"]
    (root / "w").mkdir(exist_ok=True)
    (root / "w" / "config.json").write_text(json.dumps(CONFIGS["base"].to_dict()))
    with pytest.raises(SystemExit, match="not of run `t`'s architecture"):
        train.main(common + ["--export", str(root / "bad"), "--export-step", "1", "--export-also", "w:1"])
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as error:
        train.main(common + ["--export", str(root / "bad"), "--export-also", "u:2"])
    assert "--export-also needs --export and --export-step" in error.getvalue()


def test_keep_sets_how_many_checkpoints_stay(trained, tmp_path, cache):
    import shutil

    from neuralav.plugins.wavenet import train

    root = tmp_path / "runs"
    shutil.copytree(trained[0] / "t", root / "t")  # holds the checkpoints of steps 1 and 2
    with contextlib.redirect_stdout(io.StringIO()):  # already at step 2: no step trains, it saves
        assert train.main(["--run", "t", "--root", str(root), "--steps", "2", "--keep", "1",
                           "--batch", "2", "--seconds", "0.1", "--data-cache", str(cache)]) == 0
    assert sorted(p.name for p in (root / "t" / "ckpt").glob("*.index")) == ["ckpt-2.index"]


def _checkpoint_values(run_dir) -> dict[str, np.ndarray]:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(run_dir / "ckpt"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name.startswith("model/") and "OPTIMIZER_SLOT" not in name}


def test_rate_targets_steer_the_transforms_and_never_the_prior(tmp_path, cache):
    """The prior trains on the rate alone: a huge below-target weight changes the
    transforms' update and leaves the prior's update exactly as it was."""
    from neuralav.plugins.wavenet import train

    common = ["--root", str(tmp_path / "runs"), "--config", "tiny", "--batch", "2", "--seconds", "0.1",
              "--data-cache", str(cache), "--steps", "1", "--targets", "100,100,100", "--seed", "3"]
    assert train.main(common + ["--run", "plain", "--rate-below-weight", "0"]) == 0
    assert train.main(common + ["--run", "pushed", "--rate-below-weight", "100"]) == 0
    plain = _checkpoint_values(tmp_path / "runs" / "plain")
    pushed = _checkpoint_values(tmp_path / "runs" / "pushed")
    prior = [name for name in plain if "priors/0" in name]
    transforms = [name for name in plain if "params" in name]
    assert prior and transforms
    for name in prior:
        np.testing.assert_array_equal(plain[name], pushed[name], err_msg=name)
    assert any(not np.array_equal(plain[name], pushed[name]) for name in transforms)


def test_a_run_started_from_weights_fits_new_priors_first(tmp_path, cache, trained, capsys):
    from neuralav.plugins.wavenet import train

    weights = trained[2]
    common = ["--root", str(tmp_path / "runs"), "--config", "tiny", "--batch", "2", "--seconds", "0.1",
              "--data-cache", str(cache)]
    capsys.readouterr()
    assert train.main(common + ["--run", "b", "--steps", "1", "--init-weights", str(weights),
                                "--prior-crops", "4", "--prior-fit-steps", "30"]) == 0
    out = capsys.readouterr().out
    assert "started from the weights of" in out
    fits = [line.split(": ")[1].split(" kbps")[0].split(" -> ") for line in out.splitlines() if "fitted to 4 crops" in line]
    assert len(fits) == 3 and all(float(after) < float(before) for before, after in fits)
    exported = np.load(weights)
    started = _checkpoint_values(tmp_path / "runs" / "b")
    # The transforms moved one small step from the exported ones (a fresh start would be far).
    # Checkpoint keys spell the weight "enc/in_w" as "enc.Sin_w".
    moved = started["model/params/enc.Sin_w/.ATTRIBUTES/VARIABLE_VALUE"] - exported["w/enc/in_w"]
    assert 0 < np.abs(moved).max() < 0.05


def test_a_run_refuses_weights_of_another_architecture(tmp_path, cache, trained):
    from neuralav.plugins.wavenet import train

    common = ["--root", str(tmp_path / "runs"), "--batch", "2", "--seconds", "0.1", "--data-cache", str(cache)]
    with pytest.raises(SystemExit, match="cannot start a"):
        train.main(common + ["--run", "b", "--config", "base", "--steps", "1", "--init-weights", str(trained[2])])


def test_level_weights_set_each_levels_share_of_the_steps():
    from neuralav.plugins.wavenet.train import level_schedule

    assert level_schedule(None, 3) == [0, 1, 2]  # the default: what runs resumed from before it did
    assert level_schedule("1,1,1", 3) == [0, 1, 2]
    cycle = level_schedule("1,3,1", 3)
    assert sorted(cycle) == [0, 1, 1, 1, 2] and cycle[0] == cycle[2] == cycle[4] == 1  # spread out
    assert level_schedule("0,1,0", 3) == [1]
    for bad in ("1,2", "a,b,c", "0,0,0", "-1,2,2"):
        with pytest.raises(SystemExit, match="--level-weights needs 3"):
            level_schedule(bad, 3)


def _dominant_hz(x: np.ndarray, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


def test_speed_up_raises_the_pitch_of_speech_crops_by_the_factor_and_leaves_music_alone():
    from neuralav.plugins.wavenet.train import Sampler

    t = np.arange(4 * 16000) / 16000
    arrays = {"speech": (0.1 * np.sin(2 * np.pi * 200 * t)).astype(np.float32),
              "music": (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)}
    plain = Sampler({"speech": arrays["speech"]}, 8000, music=0.0, seed=1)
    assert abs(_dominant_hz(plain.crop()) - 200) < 3
    fast = Sampler({"speech": arrays["speech"]}, 8000, music=0.0, seed=1, speed_up_share=1.0, speed_up_max=1.5)
    pitches = [_dominant_hz(crop) for crop in (fast.crop() for _ in range(30))]
    assert all(len(c) == 8000 for c in (fast.crop() for _ in range(5)))
    assert 198 <= min(pitches) and max(pitches) <= 302 and max(pitches) - min(pitches) > 50
    music = Sampler({"speech": arrays["speech"], "music": arrays["music"]}, 8000, music=1.0, seed=1,
                    speed_up_share=1.0, speed_up_max=1.5)
    assert abs(_dominant_hz(music.crop()) - 440) < 3
