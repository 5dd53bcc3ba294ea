"""``features.json`` and a self-contained interactive HTML report of one interpretation run.

The report embeds every image as a ``data:`` URI and carries its few lines of script inline: one file that works
offline, from any directory, with nothing fetched from a CDN. Readers can sort and filter the features, hide the
attribution overlays, and click any image to see it large.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reward_preprocessing.artifacts import atomic_path, write_json
from reward_preprocessing.interpret.figures import FeaturePanel, mark, pair, png_bytes, scale_for, upscale


def write_features_json(path: str | os.PathLike, document: dict[str, Any]) -> None:
    write_json(path, document)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _img(image: np.ndarray, alt: str, factor: int, position: tuple[float, float] | None = None,
         cls: str = "") -> str:
    pil = mark(image, position, factor) if position is not None else upscale(image, factor)
    return (f'<img src="{data_uri(png_bytes(pil))}" alt="{html.escape(alt)}" title="{html.escape(alt)}"'
            f'{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}>')


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _action_note(record: dict[str, Any]) -> str:
    """Where the shown action comes from: the optimized distribution's arg-max, or why not."""
    opt = record["optimized_action"]
    if record["action_source"] == "optimized":
        return f"arg-max of the optimized action distribution, p = {_fmt(opt['probability'])}"
    reason = {"feature": "the output head's own action", "dataset example": "the starting dataset example's",
              "highest reward": "the action the model rewards most on these frames"}[record["action_source"]]
    return f"the feature does not read the action input, so it was not optimized; shown: {html.escape(reason)}"


def _feature_card(record: dict[str, Any], panel: FeaturePanel, factor: int) -> str:
    e = html.escape
    rewards = record["rewards_by_action"]
    top = max(abs(v) for v in rewards.values()) or 1.0
    bars = "".join(
        f'<tr{" class=used" if a == record["action"] else ""}><td>{e(a)}</td><td class=num>{_fmt(v)}</td>'
        f'<td><span class="bar {"pos" if v >= 0 else "neg"}" style="width:{abs(v) / top * 100:.1f}%"></span>'
        f"</td></tr>"
        for a, v in rewards.items()
    )
    att = record["attribution"]
    ex_att = record["best_example_attribution"]
    examples = "".join(
        f'<figure class=example>{_img(pair(o, n), label, factor, None)}'
        f'<figcaption>{e(label)}</figcaption></figure>'
        if pos is None else
        f'<figure class=example>{_img(o, "obs " + label, factor, pos)}{_img(n, "next obs " + label, factor, pos)}'
        f"<figcaption>{e(label)}</figcaption></figure>"
        for o, n, label, pos in panel.examples
    )
    ex_overlays = ""
    if panel.example_attribution is not None:
        ex_overlays = (
            '<h4 class=attribution>Attribution on the best example '
            f'(reward of {e(ex_att["action"])}: {_fmt(ex_att["reward"])}; baseline {_fmt(ex_att["baseline_reward"])};'
            f' Σ IG {_fmt(ex_att["sum"])}, completeness error {_fmt(ex_att["completeness_error"])})</h4>'
            + '<div class="row attribution">'
            + _img(panel.example_attribution[0], "attribution on best example obs", factor)
            + _img(panel.example_attribution[1], "attribution on best example next obs", factor)
            + "</div>"
        )
    return f"""
<section class=feature data-index="{record['index']}" data-activation="{record['activation']}"
 data-reward="{record['reward']}" data-name="{e(record['name'].lower())}">
<h3>{e(record['name'])}</h3>
<p class=facts>activation reached <b>{_fmt(record['activation'])}</b> (from {_fmt(record['start_activation'])} at
the start) · action <b>{e(record['action'])}</b> ({_action_note(record)}) · reward
<b>{_fmt(record['reward'])}</b></p>
<div class=row>
<figure>{_img(panel.obs, record['name'] + ': visualized obs', factor)}<figcaption>visualized obs</figcaption></figure>
<figure>{_img(panel.next_obs, record['name'] + ': visualized next obs', factor)}
<figcaption>visualized next obs</figcaption></figure>
<figure class=attribution>{_img(panel.attribution_obs, 'attribution on visualized obs', factor)}
<figcaption>attribution (obs)</figcaption></figure>
<figure class=attribution>{_img(panel.attribution_next, 'attribution on visualized next obs', factor)}
<figcaption>attribution (next obs)</figcaption></figure>
<table class=rewards><caption>reward of the visualized frames per action</caption>{bars}</table>
</div>
<p class="facts attribution">integrated gradients: Σ {_fmt(att['sum'])} vs f(x) − f(baseline) =
{_fmt(att['reward'] - att['baseline_reward'])} (completeness error {_fmt(att['completeness_error'])},
{'within' if att['complete'] else 'ABOVE'} tolerance {_fmt(att['completeness_tolerance'])})</p>
<h4>Dataset examples (strongest first; circle: position of the strongest activation)</h4>
<div class=row>{examples}</div>
{ex_overlays}
</section>"""


CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px;color:#222}
h1{font-size:1.4em} h3{margin:.2em 0} h4{font-size:.9em;margin:.6em 0 .2em}
.feature{border:1px solid #ccc;border-radius:6px;padding:.8em;margin:1em 0}
.row{display:flex;flex-wrap:wrap;gap:.6em;align-items:flex-start}
figure{margin:0;text-align:center;font-size:.75em} figcaption{white-space:pre-line}
img{image-rendering:pixelated;cursor:zoom-in;border:1px solid #999}
.facts{font-size:.85em;margin:.3em 0}
table.rewards{font-size:.72em;border-collapse:collapse} table.rewards td{padding:0 .4em}
table.rewards tr.used{font-weight:bold;background:#eef}
.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:.7em;min-width:1px}
.bar.pos{background:#1e78ff} .bar.neg{background:#ff8c00}
.controls{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd;z-index:1}
.hide-attribution .attribution{display:none}
#zoom{display:none;position:fixed;inset:0;background:rgba(0,0,0,.85);align-items:center;justify-content:center}
#zoom img{max-width:90vw;max-height:90vh;width:auto;height:90vh;cursor:zoom-out}
.legend span{padding:0 .4em;color:#fff}
"""

SCRIPT = """
(function(){
  const list=document.getElementById('features');
  const cards=Array.from(list.querySelectorAll('section.feature'));
  function apply(){
    const key=document.getElementById('sort').value;
    const q=document.getElementById('filter').value.trim().toLowerCase();
    const sorted=cards.slice().sort(function(a,b){
      if(key==='index'){return Number(a.dataset.index)-Number(b.dataset.index);}
      return Number(b.dataset[key])-Number(a.dataset[key]);
    });
    sorted.forEach(function(c){c.style.display=(!q||c.dataset.name.indexOf(q)>=0)?'':'none';list.appendChild(c);});
  }
  document.getElementById('sort').addEventListener('change',apply);
  document.getElementById('filter').addEventListener('input',apply);
  document.getElementById('attr').addEventListener('change',function(e){
    document.body.classList.toggle('hide-attribution',!e.target.checked);});
  const zoom=document.getElementById('zoom'),big=zoom.querySelector('img');
  document.querySelectorAll('main img').forEach(function(img){img.addEventListener('click',function(){
    big.src=img.src;big.alt=img.alt;zoom.style.display='flex';});});
  zoom.addEventListener('click',function(){zoom.style.display='none';});
})();
"""


def render_report(document: dict[str, Any], panels: Sequence[FeaturePanel], overview_png: bytes) -> str:
    """The report as one HTML string."""
    e = html.escape
    factor = scale_for(panels[0].obs.shape[0]) if panels else 1
    cards = "".join(_feature_card(r, p, factor) for r, p in zip(document["features"], panels, strict=True))
    nmf = document.get("nmf")
    nmf_line = (f"<li>NMF of {e(nmf['of'])} ({e(nmf['split'])}) over channels of {nmf['rows']} positions; relative "
                f"reconstruction error {_fmt(nmf['relative_error'])}</li>" if nmf else "")
    settings = e(json.dumps(document["settings"], sort_keys=True))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(document['title'])}</title>
<style>{CSS}</style></head>
<body><main>
<h1>{e(document['title'])}</h1>
<ul>
<li>model {e(str(document['model']['class']))} (env {e(str(document['model']['env']))}); layer
<code>{e(document['layer'])}</code>, {len(document['features'])} {e(document['kind'])} features</li>
<li>{document['n_transitions']} rollout transitions for NMF and dataset examples</li>
{nmf_line}
<li>attribution: integrated gradients of the reward to the {e(document['attribution_target'])};
<span class=legend><span style="background:#1e78ff">blue raises the reward</span>
<span style="background:#ff8c00">orange lowers it</span></span></li>
<li>an optimized transition's action is the arg-max of its action distribution when the feature depends on the
action; otherwise the feature's own action, the dataset example's, or the action with the highest reward</li>
</ul>
<details><summary>settings</summary><pre>{settings}</pre></details>
<h2>Overview</h2>
<img src="{data_uri(overview_png)}" alt="overview of all features" style="max-width:100%">
<h2>Features</h2>
<div class=controls>sort by <select id=sort><option value=index>index</option>
<option value=activation>activation reached</option><option value=reward>reward</option></select>
filter <input id=filter placeholder="feature name">
<label><input type=checkbox id=attr checked> show attribution</label></div>
<div id=features>{cards}</div>
</main>
<div id=zoom><img alt="enlarged image"></div>
<script>{SCRIPT}</script>
</body></html>
"""


def write_report(path: str | os.PathLike, document: dict[str, Any], panels: Sequence[FeaturePanel],
                 overview: str | os.PathLike) -> None:
    text = render_report(document, panels, Path(overview).read_bytes())
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")

