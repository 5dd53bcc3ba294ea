"""End to end: scripts/interpret.py on a tiny CNN reward net, its outputs, its report in a real browser, bad input."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from interpret_helpers import N_ACTIONS, save_image_rollouts, save_imitation_rollouts, save_procgen_npz, save_tiny_net

from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.io import save_reward_net
from reward_preprocessing.rewards.mlp import MlpRewardNet

REPO = Path(__file__).resolve().parents[1]
FAST = {"steps": 20, "ig_steps": 128, "n_observations": 24, "n_examples": 3, "jitter": 2, "device": "cpu"}


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("interpret_script", REPO / "scripts" / "interpret.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(*args: str | os.PathLike) -> None:
    _script().main([str(a) for a in args])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("interpret")
    return {"model": save_tiny_net(root / "model"), "npz": save_procgen_npz(root / "rollouts.npz"),
            "imitation": save_imitation_rollouts(root / "rollouts"), "root": root}


@pytest.fixture(scope="module")
def report_dir(inputs: dict[str, Path]) -> Path:
    out = inputs["root"] / "out"
    run_script("--model", inputs["model"], "--rollouts", inputs["npz"], "--out", out, "--settings", json.dumps(FAST))
    return out


def test_outputs_and_features_json(report_dir: Path) -> None:
    names = sorted(p.name for p in report_dir.iterdir())
    assert names == ["features", "features.json", "overview.png", "report.html"]
    assert sorted(p.name for p in (report_dir / "features").iterdir()) == [f"{i:02d}.png" for i in range(N_ACTIONS)]
    doc = json.loads((report_dir / "features.json").read_text())
    assert doc["layer"] == "cnn.dense_final" and doc["kind"] == "unit"
    assert doc["title"] == "ImageRewardNet: features of cnn.dense_final"
    assert [f["name"] for f in doc["features"]] == [f"action {i}" for i in range(N_ACTIONS)]
    for f in doc["features"]:
        assert f["action_of_feature"] == f["name"] and f["action"] == f["name"]  # output head i is action i's reward
        # The head of action i IS the reward of action i: the activation reached equals the reward shown.
        assert f["activation"] == pytest.approx(f["reward"], abs=1e-5)
        assert f["activation"] > f["start_activation"]
        assert f["attribution"]["complete"] and f["best_example_attribution"]["complete"]
        best = f["best_example"]
        assert best == f["examples"][0]
        assert [e["value"] for e in f["examples"]] == sorted((e["value"] for e in f["examples"]), reverse=True)


def test_rerun_is_byte_identical_and_imitation_rollouts_work(inputs: dict[str, Path], report_dir: Path) -> None:
    again = inputs["root"] / "again"
    run_script("--model", inputs["model"], "--rollouts", inputs["npz"], "--out", again, "--settings", json.dumps(FAST))
    for name in ("features.json", "overview.png", "report.html", "features/00.png"):
        assert (again / name).read_bytes() == (report_dir / name).read_bytes(), name
    nmf = {**FAST, "layer": "cnn.act0", "features": "nmf", "n_features": 3, "mode": "dataset", "ig_layer": "cnn.conv0"}
    out = inputs["root"] / "nmf"
    run_script("--model", inputs["model"], "--rollouts", inputs["imitation"], "--out", out, "--settings",
               json.dumps(nmf))
    doc = json.loads((out / "features.json").read_text())
    assert doc["kind"] == "nmf" and len(doc["features"]) == 3 and doc["nmf"]["rows"] == 24 * 8 * 8
    assert doc["attribution_target"] == "cnn.conv0"
    # NMF of attributions: signed, so split into positive and negative parts (twice the channels).
    by_attr = {**nmf, "nmf_of": "attributions", "nmf_attribution_observations": 10, "mode": "noise"}
    run_script("--model", inputs["model"], "--rollouts", inputs["npz"], "--out", inputs["root"] / "nmf_attr",
               "--settings", json.dumps(by_attr))
    doc = json.loads((inputs["root"] / "nmf_attr" / "features.json").read_text())
    assert doc["nmf"]["split"] == "posneg" and np.asarray(doc["nmf"]["directions"]).shape == (3, 8)
    assert doc["nmf"]["rows"] == 10 * 8 * 8


def test_coinrun_heads_are_titled_with_the_action_names(inputs: dict[str, Path]) -> None:
    """A model of procgen:coinrun over an image rollout directory: its 15 output heads are LEFT+DOWN, LEFT, ...;
    a hidden layer of 15 channels is not mistaken for them."""
    from reward_preprocessing.envs.procgen import ACTION_NAMES, ENV_ID
    from reward_preprocessing.interpret.run import InterpretSettings, prepare

    n = len(ACTION_NAMES)
    model = save_tiny_net(inputs["root"] / "coinrun_model", env_id=ENV_ID, hid=n, n_actions=n)
    rollouts = save_image_rollouts(inputs["root"] / "coinrun_rollouts", n_actions=n)  # the pipeline's format
    out = inputs["root"] / "coinrun_out"
    fast = {**FAST, "steps": 3, "ig_steps": 16, "n_observations": 12, "n_examples": 1}
    run_script("--model", model, "--rollouts", rollouts, "--out", out, "--settings", json.dumps(fast))
    doc = json.loads((out / "features.json").read_text())
    assert doc["action_names"] == list(ACTION_NAMES)
    assert [f["name"] for f in doc["features"]] == list(ACTION_NAMES)
    assert [f["action_of_feature"] for f in doc["features"]] == list(ACTION_NAMES)
    html = (out / "report.html").read_text()
    assert all(f"<h3>{name}</h3>" in html for name in ACTION_NAMES)
    hidden = prepare(model, InterpretSettings(layer="cnn.act0", device="cpu"))
    assert hidden.channels == n and not hidden.heads and hidden.names == list(ACTION_NAMES)
    assert prepare(model, InterpretSettings(layer="cnn.dense_final", device="cpu")).heads


def test_list_layers(inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    run_script("--model", inputs["model"], "--list-layers")
    out = capsys.readouterr().out
    assert re.search(r"cnn\.conv0\s+Conv2d\s+\(4, 8, 8\)", out)
    assert re.search(r"cnn\.dense_final\s+Linear\s+\(4,\)", out)


def test_report_is_self_contained(report_dir: Path) -> None:
    text = (report_dir / "report.html").read_text()
    sources = re.findall(r'src="([^"]*)"', text)
    assert len(sources) > 5 * N_ACTIONS and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"(href|src)=\"(https?:)?//", text)
    assert "<link" not in text


# --- the report in a real headless browser ------------------------------------------------------------------------

# Injected first into <head>: records script errors, failed resources and console.error calls; on load, writes
# every image's naturalWidth and the errors into the DOM for --dump-dom.
PROBE = """<script>
window.__errors=[];
window.addEventListener('error',function(e){window.__errors.push(String(e.message||('failed to load '+
  (e.target&&(e.target.src||e.target.href)))));},true);
window.addEventListener('unhandledrejection',function(e){window.__errors.push('rejection '+e.reason);});
(function(){var orig=console.error;console.error=function(){window.__errors.push(Array.from(arguments).join(' '));
  return orig.apply(console,arguments);};})();
window.addEventListener('load',function(){setTimeout(function(){
  var imgs=Array.from(document.images).filter(function(i){return i.closest('main');});
  var pre=document.createElement('pre');pre.id='__probe';
  pre.textContent=JSON.stringify({widths:imgs.map(function(i){return i.naturalWidth;}),errors:window.__errors});
  document.body.appendChild(pre);},0);});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(["bash", str(REPO / "scripts" / "setup_system.sh")], check=False, timeout=900)
        found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no chromium on PATH and not root to install it (run scripts/setup_system.sh as root)")
    return found


def test_report_renders_in_headless_chromium(report_dir: Path, tmp_path: Path) -> None:
    browser = chromium()
    page = tmp_path / "probe.html"
    page.write_text((report_dir / "report.html").read_text().replace("<head>", "<head>" + PROBE, 1))
    n_images = page.read_text().count("<img ")
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    match = re.search(r'<pre id="__probe">(.*?)</pre>', result.stdout, re.S)
    assert match, f"no probe result; chromium said: {result.stderr[-2000:]}"
    probe = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<"))
    assert probe["errors"] == []
    # Every image in the report decoded (the zoom overlay's empty <img> sits outside <main>).
    assert len(probe["widths"]) == n_images - 1 and min(probe["widths"]) > 0


# --- bad input: one clear line, before any optimization, nothing left behind -------------------------------------


@pytest.fixture
def no_optimization(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("optimization started despite bad input")

    import reward_preprocessing.interpret.run as run_module

    monkeypatch.setattr(run_module, "visualize", refuse)
    monkeypatch.setattr(run_module, "layer_activations", refuse)


def _fails(inputs: dict[str, Path], message: str, *extra: str, model: Path | None = None,
           rollouts: Path | None = None) -> None:
    out = inputs["root"] / "bad"
    with pytest.raises(UserError, match=message) as info:
        run_script("--model", model or inputs["model"], "--rollouts", rollouts or inputs["npz"], "--out", out, *extra)
    assert "\n" not in str(info.value)
    assert not out.exists() and not list(inputs["root"].glob(".bad.*"))


def test_unknown_layer(inputs: dict[str, Path], no_optimization: None) -> None:
    _fails(inputs, r"no layer 'conv9' .*valid layers: cnn\.conv0, cnn\.act0", "--settings", '{"layer": "conv9"}')


def test_too_many_nmf_features(inputs: dict[str, Path], no_optimization: None) -> None:
    _fails(inputs, "asked for 5 NMF features of layer 'cnn.act0', which has only 4 channels",
           "--settings", '{"layer": "cnn.act0", "features": "nmf", "n_features": 5}')


def test_rollouts_that_do_not_fit_the_model(inputs: dict[str, Path], no_optimization: None) -> None:
    small = save_procgen_npz(inputs["root"] / "small.npz", size=6)
    _fails(inputs, r"observations have shape \(6, 6, 3\), but the model takes \(8, 8, 3\)", rollouts=small)


def test_model_without_image_input(inputs: dict[str, Path], no_optimization: None) -> None:
    from gymnasium import spaces

    net = MlpRewardNet(spaces.Box(-1, 1, (2,), np.float32), spaces.Discrete(3))
    save_reward_net(net, inputs["root"] / "mlp", env_id="MountainCar-v0")
    _fails(inputs, r"takes observations Box\(.*\), not images", model=inputs["root"] / "mlp")


def test_unknown_setting(inputs: dict[str, Path]) -> None:
    _fails(inputs, "unknown setting", "--settings", '{"stepz": 3}')
