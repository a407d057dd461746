"""Turn benchmark results into a text table, a JSON file and a PNG plot.

JSON is strict (no ``NaN``/``Infinity``): infinite values (PSNR or SNR of a
lossless codec) are written as ``null`` next to ``"lossless": true``. Plots use
matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["to_json_safe", "write_json", "format_image_table", "plot_images",
           "format_audio_table", "plot_audio"]


def to_json_safe(value: Any) -> Any:
    """A copy of ``value`` with non-finite floats replaced by ``None`` and tuples by lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v) for v in value]
    return value


def write_json(result: dict, path: Path) -> None:
    """Write ``result`` as strict, indented JSON."""
    path.write_text(json.dumps(to_json_safe(result), indent=1, allow_nan=False) + "\n")


def _num(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def _setting(codec: dict, setting: Any) -> str:
    return "default" if setting is None else f"{codec['setting_name']} {setting}"


def _rows(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def format_image_table(result: dict) -> str:
    """The whole image result as text: curves, BD-rates, speed (and video fps if measured)."""
    dataset = result["dataset"]
    codecs = {c["name"]: c for c in result["codecs"]}
    lines = [f"{len(dataset['images'])} images from {dataset['folder']}"
             + (" (--quick subset)" if dataset["quick"] else "")]
    rows = []
    for name, curve in result["curves"].items():
        for point in curve:
            rows.append([name, _setting(codecs[name], point["setting"]), _num(point["bpp"], 3),
                         _num(point["psnr"], 2), _num(point["msssim"], 4), _num(point["msssim_db"], 2),
                         _ms(point["encode_s"]), _ms(point["decode_s"])])
    lines += ["", "Rate-distortion (mean over images; times: median per image)"]
    lines += _rows(["codec", "setting", "bpp", "PSNR dB", "MS-SSIM", "MS-SSIM dB", "enc ms", "dec ms"], rows)
    bd = result["bd_rate"]
    anchors = bd["anchors"]
    if anchors:
        header = ["codec"] + [f"vs {a} {m}" for a in anchors for m in ("PSNR", "MS-SSIM")]
        rows = [[name] + [_num(bd["results"][name][a][m], 1) for a in anchors for m in ("psnr", "msssim")]
                for name in result["curves"] if name in bd["results"]]
        lines += ["", f"BD-rate in % (negative: fewer bits at equal quality; '-': quality ranges do not "
                      f"overlap or fewer than 4 lossy points). {bd['method']}"]
        lines += _rows(header, rows)
    speed = result["speed"]
    rows = []
    for name, s in speed["codecs"].items():
        enc, dec = s["encode_s"], s["decode_s"]
        rows.append([name, _setting(codecs[name], s["setting"]), _num(s["bpp"], 3),
                     f"{_ms(enc['median'])} [{_ms(enc['min'])}-{_ms(enc['max'])}]",
                     f"{_ms(dec['median'])} [{_ms(dec['min'])}-{_ms(dec['max'])}]",
                     _num(s["encode_peak_mib"], 1), _num(s["decode_peak_mib"], 1),
                     _num(s.get("sweep_peak_mib"), 1)])
    lines += ["", f"Speed per image, each codec at its setting nearest {speed['target_bpp']:g} bpp: "
                  f"median [min-max] of {speed['repeats']} repeats x {len(speed['images'])} images after a "
                  f"warm-up, codecs interleaved. Memory: peak RSS increase (MiB) in one warm call; "
                  f"'sweep' = over the codec's whole sweep, model loading included"]
    lines += _rows(["codec", "setting", "bpp", "encode ms", "decode ms", "enc MiB", "dec MiB", "sweep MiB"], rows)
    if "video" in speed:
        video = speed["video"]
        lines += ["", f"Video: {video['frames']} frames of {video['file']} ({video['width']}x{video['height']}), "
                      f"each frame coded intra"]
        lines += _rows(["codec", "setting", "bpp", "encode fps", "decode fps"],
                       [[n, _setting(codecs[n], v["setting"]), _num(v["bpp"], 3), _num(v["encode_fps"], 1),
                         _num(v["decode_fps"], 1)] for n, v in video["codecs"].items()])
    if result["skipped"]:
        lines += [""] + [f"skipped {s['codec']}: {s['reason']}" for s in result["skipped"]]
    return "\n".join(lines)


ANCHOR_NAMES = ("jpeg", "webp", "opus")


def _style(name: str, family: str) -> dict:
    if family != "standard":
        return {"linewidth": 2.6, "markersize": 6.5}
    style = {"linewidth": 1.3, "markersize": 3.5, "alpha": 0.9}
    if name in ANCHOR_NAMES:
        style["linestyle"] = "--"
    return style


def _visible_limits(series: list[tuple[list[float], list[float]]], x_max: float) -> tuple[float, float] | None:
    ys = [y for xs, values in series for x, y in zip(xs, values) if x <= x_max and y is not None and math.isfinite(y)]
    if not ys:
        return None
    low, high = min(ys), max(ys)
    pad = 0.05 * (high - low or 1.0)
    return low - pad, high + pad


def plot_images(result: dict, path: Path) -> None:
    """Write a PNG: PSNR and MS-SSIM (dB) against bpp for every codec, and a speed panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    codecs = {c["name"]: c for c in result["codecs"]}
    curves = result["curves"]
    learned = [p["bpp"] for n, c in curves.items() if codecs[n]["family"] != "standard" for p in c
               if p["psnr"] is not None and math.isfinite(p["psnr"])]
    x_max = min(2.0, 1.4 * max(learned)) if learned else 2.0
    x_max = max(x_max, 1.0)
    figure, axes = plt.subplots(1, 3, figsize=(18, 5.8), gridspec_kw={"width_ratios": [1.15, 1.15, 1]})
    colors = plt.get_cmap("tab10")
    order = sorted(curves, key=lambda n: (codecs[n]["family"] == "standard", n))
    bd = result["bd_rate"]["results"]
    for axis, key, label in ((axes[0], "psnr", "RGB PSNR (dB)"), (axes[1], "msssim_db", "MS-SSIM (dB)")):
        series = []
        for index, name in enumerate(order):
            points = [p for p in curves[name] if p[key] is not None and math.isfinite(p[key])]
            if not points:
                continue
            xs, ys = [p["bpp"] for p in points], [p[key] for p in points]
            series.append((xs, ys))
            metric = "psnr" if key == "psnr" else "msssim"
            note = ""
            if "jpeg" in bd.get(name, {}) and name != "jpeg" and bd[name]["jpeg"][metric] is not None:
                note = f" ({bd[name]['jpeg'][metric]:+.0f}% vs JPEG)"
            axis.plot(xs, ys, marker="o", color=colors(index % 10), label=f"{name}{note}",
                      **_style(name, codecs[name]["family"]))
        axis.set_xlim(0, x_max)
        if not series:
            axis.text(0.5, 0.5, "not measured (--no-msssim)", ha="center", va="center", transform=axis.transAxes)
        limits = _visible_limits(series, x_max)
        if limits:
            axis.set_ylim(*limits)
        axis.set_xlabel("bits per pixel (real coded size)")
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
        if series:
            axis.legend(loc="lower right", fontsize=9)
    axes[0].set_title("Rate-PSNR (up and left is better; legend: BD-rate vs JPEG)", fontsize=11)
    axes[1].set_title("Rate-MS-SSIM (legend: BD-rate vs JPEG)", fontsize=11)
    speed = result["speed"]["codecs"]
    names = [n for n in order if n in speed]
    positions = range(len(names))
    encode = [speed[n]["encode_s"]["median"] * 1000 for n in names]
    decode = [speed[n]["decode_s"]["median"] * 1000 for n in names]
    axes[2].barh([p - 0.2 for p in positions], encode, height=0.4, label="encode", color="tab:blue")
    axes[2].barh([p + 0.2 for p in positions], decode, height=0.4, label="decode", color="tab:orange")
    axes[2].set_yticks(list(positions), [f"{n}\n({speed[n]['bpp']:.2f} bpp)" for n in names])
    axes[2].invert_yaxis()
    axes[2].set_xscale("log")
    axes[2].set_xlabel("ms per image (median, log scale)")
    axes[2].set_title("Speed near {:g} bpp".format(result["speed"]["target_bpp"]))
    axes[2].grid(True, axis="x", alpha=0.3)
    axes[2].legend(loc="lower right", fontsize=9)
    dataset = result["dataset"]
    first = dataset["images"][0]
    figure.suptitle(f"neuralav bench images: {len(dataset['images'])} images of {Path(dataset['folder']).name} "
                    f"(first {first['width']}x{first['height']})" + (" [quick]" if dataset["quick"] else ""))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def format_audio_table(result: dict) -> str:
    """The whole audio result as text: curves, BD-rates against Opus, speed."""
    dataset = result["dataset"]
    codecs = {c["name"]: c for c in result["codecs"]}
    lines = [f"{len(dataset['clips'])} clips ({dataset['seconds']:.1f} s) from {dataset['folder']}, "
             f"mono {dataset['rate']} Hz" + (" (--quick subset)" if dataset["quick"] else "")]
    rows = []
    for name, curve in result["curves"].items():
        for point in curve:
            rows.append([name, _setting(codecs[name], point["setting"]), _num(point["kbps"], 2),
                         _num(point["pesq_wb"], 2), _num(point["stoi"], 3), _num(point["snr_db"], 2),
                         _num(point["lsd_db"], 2), _num(point["encode_rtf"], 4), _num(point["decode_rtf"], 4)])
    lines += ["", "Rate-distortion (mean over clips; RTF = processing time / audio duration, lower is faster)"]
    lines += _rows(["codec", "setting", "kbps", "PESQ-WB", "STOI", "SNR dB", "LSD dB", "enc RTF", "dec RTF"], rows)
    bd = result["bd_rate"]
    if bd["anchors"]:
        rows = [[name] + [_num(bd["results"][name][a][m], 1) for a in bd["anchors"] for m in ("pesq_wb", "stoi")]
                for name in result["curves"] if name in bd["results"]]
        lines += ["", f"BD-rate in % against Opus (rate kbps; '-': no overlap or fewer than 4 lossy points). "
                      f"{bd['method']}"]
        lines += _rows(["codec"] + [f"vs {a} {m}" for a in bd["anchors"] for m in ("PESQ", "STOI")], rows)
    speed = result["speed"]
    rows = [[n, _setting(codecs[n], s["setting"]), _num(s["kbps"], 2), _num(s["encode_rtf"]["median"], 4),
             _num(s["decode_rtf"]["median"], 4), _num(s["encode_peak_mib"], 1), _num(s["decode_peak_mib"], 1),
             _num(s.get("sweep_peak_mib"), 1)]
            for n, s in speed["codecs"].items()]
    lines += ["", f"Speed on {speed['clip']} ({speed['seconds']:.1f} s): median real-time factor of "
                  f"{speed['repeats']} repeats after a warm-up, codecs interleaved; memory as for images"]
    lines += _rows(["codec", "setting", "kbps", "enc RTF", "dec RTF", "enc MiB", "dec MiB", "sweep MiB"], rows)
    if result["skipped"]:
        lines += [""] + [f"skipped {s['codec']}: {s['reason']}" for s in result["skipped"]]
    return "\n".join(lines)


def plot_audio(result: dict, path: Path) -> None:
    """Write a PNG: PESQ-WB, STOI and log-spectral distance against kbps for every codec."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    codecs = {c["name"]: c for c in result["codecs"]}
    curves = result["curves"]
    figure, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    colors = plt.get_cmap("tab10")
    order = sorted(curves, key=lambda n: (codecs[n]["family"] == "standard", n))
    for axis, key, label in ((axes[0], "pesq_wb", "PESQ-WB (MOS-LQO)"), (axes[1], "stoi", "STOI"),
                             (axes[2], "lsd_db", "log-spectral distance (dB, lower is better)")):
        for index, name in enumerate(order):
            points = [p for p in curves[name] if p[key] is not None and math.isfinite(p[key])]
            note = ""
            bd = result["bd_rate"]["results"].get(name, {}).get("opus", {}).get(key)
            if name != "opus" and bd is not None:
                note = f" ({bd:+.0f}% vs Opus)"
            if points:
                axis.plot([p["kbps"] for p in points], [p[key] for p in points], marker="o",
                          color=colors(index % 10), label=name + note, **_style(name, codecs[name]["family"]))
        axis.set_xscale("log")
        axis.set_xlabel("kbps (real coded size)")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=9)
    dataset = result["dataset"]
    figure.suptitle(f"neuralav bench audio: {len(dataset['clips'])} clips of {Path(dataset['folder']).name}, "
                    f"mono {dataset['rate']} Hz" + (" [quick]" if dataset["quick"] else ""))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
