"""Write an eval run as report.json and a self-contained report.html (inline CSS and SVG, no scripts)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from rag.evaluate import METRICS, QuestionResult

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{background:#eee;width:220px;height:12px;display:inline-block;vertical-align:middle}
.bar>span{background:#3b7dd8;height:12px;display:block}
.q{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:.8em 0}
.ok{color:#17803d;font-weight:600}.bad{color:#b42318;font-weight:600}.na{color:#888}
.badge{display:inline-block;border-radius:4px;padding:0 6px;margin:0 4px 2px 0;background:#f1f1f1;
font-size:12px}
mark{background:#fff2a8}
blockquote{margin:.3em 0 .3em 1em;padding-left:.6em;border-left:3px solid #ccc;color:#444}
details{margin:.3em 0}
"""


def write_reports(
    summary: dict[str, Any], results: list[QuestionResult], out_dir: Path, run_info: dict[str, Any]
) -> tuple[Path, Path]:
    """Write `out_dir/report.json` (run info, summary, every result) and `out_dir/report.html`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    data = {"run": run_info, "summary": summary, "results": [r.to_dict() for r in results]}
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    html_path.write_text(render_html(summary, results, run_info), encoding="utf-8")
    return json_path, html_path


def render_html(summary: dict[str, Any], results: list[QuestionResult], run_info: dict[str, Any]) -> str:
    """The whole report page as one string."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>rag eval report</title>",
        f"<style>{_CSS}</style></head><body><h1>Eval report</h1>",
        _run_table(run_info),
        "<h2>Summary</h2>",
        _summary_table(summary),
        "<h2>By question type</h2>",
        _type_bars(summary),
        "<h2>Latency</h2>",
        _latency(summary, results),
        "<h2>Questions</h2>",
        *(_question(r) for r in results),
        "</body></html>",
    ]
    return "\n".join(parts)


def _fmt(value: Any) -> str:
    if value is None:
        return "<span class='na'>n/a</span>"
    if isinstance(value, float):
        return f"{value:.3f}"
    return escape(str(value))


def _run_table(run_info: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{_fmt(v)}</td></tr>" for k, v in run_info.items())
    return f"<table>{rows}</table>"


def _summary_table(summary: dict[str, Any]) -> str:
    overall = summary["overall"]
    rows = [
        f"<tr><td>{m}</td><td class='num'>{_fmt(overall.get(m))}</td>"
        f"<td class='num'>{overall.get(m + '_n', '')}</td></tr>"
        for m in METRICS
    ]
    refusal = summary.get("refusal", {})
    for key in ("unanswerable_refused", "answerable_refused"):
        rows.append(f"<tr><td>{key}</td><td class='num'>{_fmt(refusal.get(key))}</td><td></td></tr>")
    usage = summary.get("usage", {})
    for key in ("model", "prompt_tokens", "completion_tokens", "cost_usd"):
        rows.append(f"<tr><td>{key}</td><td class='num'>{_fmt(usage.get(key))}</td><td></td></tr>")
    return "<table><tr><th>metric</th><th>value</th><th>n</th></tr>" + "".join(rows) + "</table>"


def _bar(value: float | None) -> str:
    if value is None:
        return "<span class='na'>n/a</span>"
    return f"<span class='bar'><span style='width:{100 * value:.1f}%'></span></span> {value:.2f}"


def _type_bars(summary: dict[str, Any]) -> str:
    shown = ("correct", "f1", "doc_recall_at_k", "citation_recall", "citation_precision")
    head = "".join(f"<th>{m}</th>" for m in shown)
    rows = []
    for qtype, block in summary["by_type"].items():
        cells = "".join(f"<td>{_bar(block.get(m))}</td>" for m in shown)
        rows.append(f"<tr><th>{escape(qtype)} ({block['n']})</th>{cells}</tr>")
    return f"<table><tr><th>type</th>{head}</tr>{''.join(rows)}</table>"


def _latency(summary: dict[str, Any], results: list[QuestionResult]) -> str:
    rows = "".join(
        f"<tr><td>{escape(stage)}</td><td class='num'>{s['p50_ms']:.1f}</td>"
        f"<td class='num'>{s['p95_ms']:.1f}</td><td class='num'>{s['n']}</td></tr>"
        for stage, s in summary.get("latency", {}).items()
    )
    table = f"<table><tr><th>stage</th><th>p50 ms</th><th>p95 ms</th><th>n</th></tr>{rows}</table>"
    totals = [1000 * sum(r.timings.values()) for r in results if r.timings]
    return table + (_histogram(totals) if totals else "")


def _histogram(values_ms: list[float], bins: int = 12) -> str:
    """Inline SVG histogram of per-question total latency."""
    low, high = min(values_ms), max(values_ms)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in values_ms:
        counts[min(int((v - low) / width), bins - 1)] += 1
    top = max(counts)
    bars = []
    for i, c in enumerate(counts):
        h = 120 * c / top
        bars.append(
            f"<rect x='{40 + i * 40}' y='{140 - h:.1f}' width='36' height='{h:.1f}' fill='#3b7dd8'>"
            f"<title>{low + i * width:.0f}-{low + (i + 1) * width:.0f} ms: {c}</title></rect>"
        )
    labels = (
        f"<text x='40' y='158' font-size='11'>{low:.0f} ms</text>"
        f"<text x='{40 + bins * 40}' y='158' font-size='11' text-anchor='end'>{high:.0f} ms</text>"
        f"<text x='0' y='24' font-size='11'>{top}</text>"
    )
    return (
        f"<p>Total latency per question ({len(values_ms)} questions)</p>"
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{60 + bins * 40}' height='165' role='img'>"
        f"<line x1='38' y1='140' x2='{40 + bins * 40}' y2='140' stroke='#999'/>"
        f"{''.join(bars)}{labels}</svg>"
    )


def _verdict_badges(verdicts: dict[str, Any]) -> str:
    out = []
    for key in ("correct", *METRICS[1:]):
        value = verdicts.get(key)
        if isinstance(value, bool):
            shown = f"<span class='{'ok' if value else 'bad'}'>{'yes' if value else 'no'}</span>"
        else:
            shown = _fmt(value)
        out.append(f"<span class='badge'>{key}: {shown}</span>")
    return "".join(out)


def _highlight(passage: str, quote: str) -> str:
    """The passage with the cited quote marked; the quote alone when it is not in the passage."""
    at = passage.find(quote) if quote else -1
    if at < 0:
        return f"<mark>{escape(quote)}</mark>"
    end = at + len(quote)
    return f"{escape(passage[:at])}<mark>{escape(passage[at:end])}</mark>{escape(passage[end:])}"


def _question(r: QuestionResult) -> str:
    status = "ok" if r.verdicts.get("correct") else "bad"
    cites = []
    for c in r.citations:
        marker = int(c.get("marker", 0))
        passage = r.passage_texts[marker - 1] if 0 < marker <= len(r.passage_texts) else ""
        cites.append(
            f"<blockquote>[{marker}] <b>{escape(str(c.get('title') or c.get('doc_id')))}</b>"
            f" <span class='na'>{escape(str(c.get('published') or ''))}</span><br>"
            f"{_highlight(passage, str(c.get('quote', '')))}</blockquote>"
        )
    sentences = "".join(
        f"<li class='{'ok' if s['supported'] else 'bad'}'>{escape(s['text'])} {s['markers']}</li>"
        for s in r.verdicts.get("sentences", [])
    )
    head = (
        f"<div class='q' id='{escape(r.id)}'><b>{escape(r.id)}</b> "
        f"<span class='badge'>{escape(r.type)}</span>"
        f" <span class='{status}'>{'right' if status == 'ok' else 'wrong'}</span>"
        f"{' <span class=badge>refused</span>' if r.refused else ''}"
        f"<p><b>Q:</b> {escape(r.question)}</p><p><b>A:</b> {escape(r.answer)}</p>"
        f"<div>{_verdict_badges(r.verdicts)}</div>"
    )
    if sentences:
        head += f"<details><summary>sentence support</summary><ul>{sentences}</ul></details>"
    if cites:
        head += f"<details open><summary>citations ({len(cites)})</summary>{''.join(cites)}</details>"
    return head + "</div>"
