"""Write an eval run as report.json and a self-contained report.html (inline CSS and SVG, no scripts).

The page is laid out for a researcher reading it on a laptop (it fits 1280 px without scrolling
sideways): a strip of headline numbers with one-line definitions, a compact per-type table of numbers with
small inline bars, latency, then every question with failed ones first, each showing the answer, the gold
answers and the cited passages with the quoted words highlighted. It opens offline: no fonts, scripts or
images are fetched from anywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.eval.gold import GoldItem, load_gold
from rag.eval.metrics import METRICS, QuestionResult

# Short column label and a one-line plain-English definition for every metric; the labels match the
# `rag eval` console table so the two can be read side by side.
METRIC_INFO: dict[str, tuple[str, str]] = {
    "correct": ("acc", "Answered right: the answer contains a gold answer (conflicts: both sides cited); "
                       "an unanswerable question counts as right when refused."),
    "answer_match": ("match", "The answer text contains a gold answer, ignoring citations."),
    "f1": ("F1", "SQuAD token overlap with the gold answer; low by design for whole quoted sentences."),
    "doc_recall_at_k": ("docR@k", "Share of the supporting articles found among the top-k passages."),
    "doc_hit_at_k": ("hit@k", "At least one supporting article is among the top-k passages."),
    "reciprocal_rank": ("MRR", "1 / rank of the first passage from a supporting article (1 = ranked first)."),
    "answer_recall_at_1": ("ansR@1", "The top passage contains a gold answer."),
    "answer_recall_at_3": ("ansR@3", "One of the top 3 passages contains a gold answer."),
    "answer_recall_at_k": ("ansR@k", "One of the top-k passages contains a gold answer."),
    "citation_hit": ("citHit", "At least one cited article is a supporting article."),
    "citation_precision_docs": ("citPrec", "Share of cited articles that are supporting articles."),
    "citation_recall": ("ALCE-R", "Share of answer sentences fully supported by the passages they cite (ALCE)."),
    "citation_precision": ("ALCE-P", "Share of citations that help support their sentence (ALCE)."),
}

# The headline strip: (where in the summary, title, definition, True when higher is better).
HEADLINE: tuple[tuple[tuple[str, str], str, str, bool], ...] = (
    (("overall", "correct"), "Accuracy", METRIC_INFO["correct"][1], True),
    (("overall", "answer_recall_at_1"), "Answer recall@1", METRIC_INFO["answer_recall_at_1"][1], True),
    (("overall", "answer_recall_at_3"), "Answer recall@3", METRIC_INFO["answer_recall_at_3"][1], True),
    (("overall", "reciprocal_rank"), "MRR", METRIC_INFO["reciprocal_rank"][1], True),
    (("overall", "citation_recall"), "Citation recall", METRIC_INFO["citation_recall"][1], True),
    (("overall", "citation_precision"), "Citation precision", METRIC_INFO["citation_precision"][1], True),
    (("refusal", "unanswerable_refused"), "Refused when it should",
     "Unanswerable questions the assistant declined to answer.", True),
    (("refusal", "answerable_refused"), "Refused wrongly",
     "Answerable questions the assistant declined to answer (lower is better).", False),
)

# The per-type table: the console table's columns, so numbers can be compared line by line.
TYPE_COLUMNS = (
    "correct",
    "f1",
    "answer_recall_at_1",
    "answer_recall_at_3",
    "answer_recall_at_k",
    "reciprocal_rank",
    "citation_hit",
    "citation_precision_docs",
    "citation_recall",
    "citation_precision",
)

_CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em auto;max-width:1200px;
color:#1f2328;padding:0 1.2em;background:#fff}
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #e5e7eb;
padding-bottom:.2em}
.meta{color:#57606a;margin:0 0 1em}.meta b{color:#1f2328;font-weight:600}
.na{color:#8c959f}
table{border-collapse:collapse;margin:.4em 0 1em}
td,th{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{font-weight:600;background:#f6f8fa}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
abbr{text-decoration:none;border-bottom:1px dotted #8c959f;cursor:help}
.strip{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:10px;margin:.4em 0 1em}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:8px 12px;background:#fbfcfd}
.card .t{font-weight:600;font-size:13px}.card .v{font-size:26px;font-weight:650;
font-variant-numeric:tabular-nums;line-height:1.2}
.card .d{color:#57606a;font-size:12px;line-height:1.35}.card .n{color:#8c959f;font-size:12px}
.types{width:100%;table-layout:fixed}.types th.c,.types td.c{width:7.4%}
.types tr.total td,.types tr.total th{border-top:2px solid #d0d7de;font-weight:600}
.mini{display:block;height:4px;background:#eaeef2;border-radius:2px;margin-top:2px}
.mini>span{display:block;height:4px;background:#3b7dd8;border-radius:2px}
.mini.low>span{background:#d4a72c}td.low{color:#9a6700}
dl.defs{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:.5em 0;font-size:13px}
dl.defs dt{font-weight:600}dl.defs dd{margin:0;color:#444}
.lat{display:flex;gap:2em;align-items:flex-start;flex-wrap:wrap}
.jump{margin:.3em 0 1em}.jump a{display:inline-block;margin:0 4px 4px 0;padding:0 6px;border-radius:4px;
background:#ffebe9;color:#a40e26;text-decoration:none;font-size:13px}
.q{border:1px solid #e5e7eb;border-left:5px solid #2da44e;border-radius:6px;padding:.5em .9em;margin:.6em 0}
.q.fail{border-left-color:#cf222e;background:#fffafa}
.q header{display:flex;gap:.5em;align-items:baseline;flex-wrap:wrap}
.q header .text{font-weight:600}
.verdict{font-weight:700;white-space:nowrap}.ok{color:#1a7f37}.bad{color:#cf222e}
.badge{display:inline-block;border-radius:4px;padding:0 6px;background:#eaeef2;font-size:12px;white-space:nowrap}
.badge.refused{background:#fff1c2}
.row{display:grid;grid-template-columns:70px 1fr;gap:8px;margin:.35em 0}
.row>.k{color:#57606a;font-size:12px;text-transform:uppercase;letter-spacing:.03em;padding-top:1px}
.chips{margin:.35em 0 .2em}.chip{display:inline-block;font-size:12px;border-radius:4px;padding:0 5px;
margin:0 4px 3px 0;background:#f6f8fa;border:1px solid #eaeef2;font-variant-numeric:tabular-nums}
.chip.bad{background:#ffebe9;border-color:#ffcecb}
mark{background:#fff2a8;padding:0 1px}mark.gold{background:#d2f4d3}
blockquote{margin:.4em 0;padding:.1em .7em;border-left:3px solid #d0d7de;color:#333}
blockquote .src{font-size:13px;color:#57606a}blockquote .src b{color:#1f2328}
details{margin:.3em 0}summary{cursor:pointer;color:#57606a}
ul.support{margin:.2em 0;padding-left:1.3em}
@media (max-width:900px){.strip{grid-template-columns:repeat(2,minmax(0,1fr))}}
"""


def write_reports(
    summary: dict[str, Any],
    results: list[QuestionResult],
    out_dir: Path,
    run_info: dict[str, Any],
    *,
    gold: Sequence[GoldItem] | None = None,
) -> tuple[Path, Path]:
    """Write `out_dir/report.json` (run info, summary, every result) and `out_dir/report.html`.

    `gold` supplies the gold answers shown beside each question; by default they are read from the gold
    file named by `run_info["gold"]`, and left out (not an error) when that file cannot be read.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    data = {"run": run_info, "summary": summary, "results": [r.to_dict() for r in results]}
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    items = list(gold) if gold is not None else _gold_from_run(run_info)
    html_path.write_text(render_html(summary, results, run_info, gold=items), encoding="utf-8")
    return json_path, html_path


def _gold_from_run(run_info: Mapping[str, Any]) -> list[GoldItem]:
    """The run's gold items, or none: the report must still be written when the file has moved since."""
    path = run_info.get("gold")
    if not path:
        return []
    try:
        return load_gold(path)
    except (RagError, OSError):
        return []


def render_html(
    summary: dict[str, Any],
    results: list[QuestionResult],
    run_info: dict[str, Any],
    *,
    gold: Sequence[GoldItem] = (),
) -> str:
    """The whole report page as one string."""
    by_id = {g.id: g for g in gold}
    failed = [r for r in results if not r.verdicts.get("correct")]
    passed = [r for r in results if r.verdicts.get("correct")]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'><title>rag eval report</title>",
        f"<style>{_CSS}</style></head><body><h1>Eval report</h1>",
        _run_line(run_info, summary),
        _headline(summary),
        "<h2>By question type</h2>",
        _type_table(summary),
        _definitions(),
        "<h2>Latency</h2>",
        _latency(summary, results),
        f"<h2 id='questions'>Questions: {len(failed)} of {len(results)} wrong</h2>",
        "<p class='na'>Wrong answers come first. In answers, <mark class='gold'>green</mark> marks a gold "
        "answer; in cited passages, <mark>yellow</mark> marks the quoted words.</p>",
        _jump_list(failed),
    ]
    if failed:
        parts.append("<h3>Wrong answers</h3>")
        parts.extend(_question(r, by_id.get(r.id)) for r in failed)
    if passed:
        parts.append("<h3>Right answers</h3>")
        parts.extend(_question(r, by_id.get(r.id)) for r in passed)
    parts.append("</body></html>")
    return "\n".join(parts)


# --- top of the page -----------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "<span class='na'>n/a</span>"
    if isinstance(value, float):
        return f"{value:.2f}"
    return escape(str(value))


def _run_line(run_info: dict[str, Any], summary: dict[str, Any]) -> str:
    """Run settings as one line; token usage and cost only when an LLM was used."""
    items = [f"<b>{summary.get('n', '?')}</b> questions"]
    items += [f"{escape(str(k))} <b>{escape(str(v))}</b>" for k, v in run_info.items() if v not in (None, "")]
    usage = summary.get("usage", {})
    if usage.get("prompt_tokens") or usage.get("completion_tokens"):
        cost = usage.get("cost_usd")
        items.append(f"tokens <b>{usage.get('prompt_tokens', 0)}</b> prompt + "
                     f"<b>{usage.get('completion_tokens', 0)}</b> completion, estimated cost "
                     f"<b>{'unknown' if cost is None else f'${cost:.4f}'}</b>")
    return f"<p class='meta'>{' · '.join(items)}</p>"


def _headline(summary: dict[str, Any]) -> str:
    """The headline numbers as a strip of cards, each with its definition and how many questions count."""
    refusal = summary.get("refusal", {})
    cards = []
    for (section, key), title, definition, higher_better in HEADLINE:
        value = summary.get(section, {}).get(key)
        if section == "overall":
            n = summary["overall"].get(f"{key}_n")
        else:
            n = refusal.get("n_unanswerable" if key == "unanswerable_refused" else "n_answerable")
        shown = "n/a" if value is None else (f"{100 * value:.0f}%" if section == "refusal" else f"{value:.2f}")
        bar = "" if value is None else _mini(value, low=(value < 0.75) == higher_better)
        cards.append(
            f"<div class='card'><div class='t'>{escape(title)}</div><div class='v'>{shown}</div>{bar}"
            f"<div class='d'>{escape(definition)}</div>"
            f"<div class='n'>{'' if n is None else f'over {n} questions'}</div></div>"
        )
    return f"<div class='strip'>{''.join(cards)}</div>"


def _mini(value: float, *, low: bool = False) -> str:
    """A small inline bar for a score in [0, 1]; `low` colours it as worth a look."""
    width = 100 * min(max(value, 0.0), 1.0)
    return f"<span class='mini{' low' if low else ''}'><span style='width:{width:.1f}%'></span></span>"


def _type_table(summary: dict[str, Any]) -> str:
    """One row per question type (and overall): compact numbers, each over a small bar."""
    head = "".join(
        f"<th class='c num'><abbr title='{escape(METRIC_INFO[m][1])}'>{METRIC_INFO[m][0]}</abbr></th>"
        for m in TYPE_COLUMNS
    )
    rows = []
    blocks = [(t, b, "") for t, b in summary["by_type"].items()] + [("overall", summary["overall"], "total")]
    for qtype, block, cls in blocks:
        cells = []
        for m in TYPE_COLUMNS:
            value = block.get(m)
            if value is None:
                cells.append("<td class='c num'><span class='na'>–</span></td>")
            else:
                # F1 is low by design (whole sentences), so only the other columns flag low values.
                low = m != "f1" and value < 0.75
                cells.append(f"<td class='c num{' low' if low else ''}'>{value:.2f}{_mini(value, low=low)}</td>")
        rows.append(f"<tr class='{cls}'><th>{escape(qtype)}</th><td class='num'>{block['n']}</td>"
                    f"{''.join(cells)}</tr>")
    return (f"<table class='types'><tr><th>type</th><th class='num' style='width:5%'>n</th>{head}</tr>"
            f"{''.join(rows)}</table>")


def _definitions() -> str:
    terms = "".join(f"<dt>{label} <span class='na'>({escape(m)})</span></dt><dd>{escape(text)}</dd>"
                    for m, (label, text) in METRIC_INFO.items())
    return (f"<details><summary>What the columns mean (hover a column heading too)</summary>"
            f"<dl class='defs'>{terms}</dl><p class='na'>– = does not apply to that type (e.g. retrieval "
            f"and citations of unanswerable questions); such questions are left out of the average.</p>"
            f"</details>")


def _latency(summary: dict[str, Any], results: list[QuestionResult]) -> str:
    rows = "".join(
        f"<tr><td>{escape(stage)}</td><td class='num'>{s['p50_ms']:.1f}</td>"
        f"<td class='num'>{s['p95_ms']:.1f}</td><td class='num'>{s['n']}</td></tr>"
        for stage, s in summary.get("latency", {}).items()
    )
    table = f"<table><tr><th>stage</th><th>p50 ms</th><th>p95 ms</th><th>n</th></tr>{rows}</table>"
    totals = [1000 * sum(r.timings.values()) for r in results if r.timings]
    return f"<div class='lat'><div>{table}</div><div>{_histogram(totals) if totals else ''}</div></div>"


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
        f"<div class='na'>Total latency per question ({len(values_ms)} questions)</div>"
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{60 + bins * 40}' height='165' role='img'>"
        f"<line x1='38' y1='140' x2='{40 + bins * 40}' y2='140' stroke='#999'/>"
        f"{''.join(bars)}{labels}</svg>"
    )


# --- questions -----------------------------------------------------------------------------------------


def _anchor(qid: str) -> str:
    """An HTML id for a question: ids from a gold file may hold characters an id or fragment cannot."""
    return "q-" + re.sub(r"[^\w-]", "_", qid)


def _jump_list(failed: list[QuestionResult]) -> str:
    if not failed:
        return "<p class='ok'>Every question was answered right.</p>"
    links = "".join(f"<a href='#{_anchor(r.id)}'>✗ {escape(r.id)}</a>" for r in failed)
    return f"<div class='jump'>Wrong: {links}</div>"


def _verdict_chips(verdicts: dict[str, Any]) -> str:
    """The metrics that apply to this question as small chips; a miss is tinted so it stands out."""
    out = []
    for key in METRICS[1:]:
        value = verdicts.get(key)
        if value is None:
            continue
        label = METRIC_INFO.get(key, (key, ""))[0]
        if isinstance(value, bool):
            shown, miss = ("✓" if value else "✗"), not value
        else:
            shown, miss = f"{value:.2f}", key != "f1" and value == 0
        title = escape(METRIC_INFO.get(key, ("", key))[1])
        out.append(f"<span class='chip{' bad' if miss else ''}' title='{title}'>{label} {shown}</span>")
    return f"<div class='chips'>{''.join(out)}</div>" if out else ""


def _gold_phrases(item: GoldItem) -> list[str]:
    """Every string that counts as the gold answer: each alias and each alternative of each list entry."""
    return [*item.answers, *(alt for entry in item.answers_all for alt in entry.split("|"))]


def _mark_phrases(text: str, phrases: Sequence[str], css: str) -> str:
    """`text` HTML-escaped with each case-insensitive occurrence of the phrases wrapped in a <mark>."""
    spans: list[tuple[int, int]] = []
    for phrase in phrases:
        if phrase.strip():
            spans += [(m.start(), m.end()) for m in re.finditer(re.escape(phrase), text, re.IGNORECASE)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):  # overlapping matches ("5 December", "December") become one mark
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    out, pos = [], 0
    for start, end in merged:
        out.append(f"{escape(text[pos:start])}<mark class='{css}'>{escape(text[start:end])}</mark>")
        pos = end
    return "".join(out) + escape(text[pos:])


def _gold_row(item: GoldItem | None) -> str:
    if item is None:
        return ""
    if not item.answerable:
        body = "<span class='na'>none in the articles: the right response is a refusal</span>"
    else:
        parts = []
        if item.answers:
            parts.append("any of " + " · ".join(f"<b>{escape(a)}</b>" for a in item.answers))
        if item.answers_all:
            entries = " · ".join(" / ".join(escape(x) for x in e.split("|")) for e in item.answers_all)
            parts.append(f"all of {entries}")
        docs = ", ".join(escape(d) for d in item.supporting_docs)
        body = "; ".join(parts) + (f" <span class='na'>— in {docs}</span>" if docs else "")
    return f"<div class='row'><span class='k'>Gold</span><div>{body}</div></div>"


def _highlight(passage: str, quote: str) -> str:
    """The passage with the cited quote marked; the quote alone when it is not in the passage."""
    at = passage.find(quote) if quote else -1
    if at < 0:
        return f"<mark>{escape(quote)}</mark>"
    end = at + len(quote)
    return f"{escape(passage[:at])}<mark>{escape(passage[at:end])}</mark>{escape(passage[end:])}"


def _citation(r: QuestionResult, c: Mapping[str, Any]) -> str:
    marker = int(c.get("marker", 0))
    passage = r.passage_texts[marker - 1] if 0 < marker <= len(r.passage_texts) else ""
    title = str(c.get("title") or c.get("doc_id"))
    where = [str(x) for x in (c.get("outlet"), c.get("published")) if x]
    if c.get("title") and c.get("doc_id"):
        where.append(str(c["doc_id"]))
    meta = f" <span class='na'>{escape(' · '.join(where))}</span>" if where else ""
    return (f"<blockquote><div class='src'>[{marker}] <b>{escape(title)}</b>{meta}</div>"
            f"{_highlight(passage, str(c.get('quote', '')))}</blockquote>")


def _question(r: QuestionResult, item: GoldItem | None) -> str:
    """One question's card: verdict, question, answer (gold strings marked), gold, metrics, citations."""
    right = bool(r.verdicts.get("correct"))
    verdict = ("<span class='verdict ok' title='right'>✓ right</span>" if right
               else "<span class='verdict bad' title='wrong'>✗ wrong</span>")
    refused = " <span class='badge refused'>refused</span>" if r.refused else ""
    answer = _mark_phrases(r.answer, _gold_phrases(item), "gold") if item else escape(r.answer)
    body = [
        f"<article class='q{'' if right else ' fail'}' id='{_anchor(r.id)}'><header>{verdict}"
        f"<b>{escape(r.id)}</b><span class='badge'>{escape(r.type)}</span>{refused}"
        f"<span class='text'>{escape(r.question)}</span></header>",
        f"<div class='row'><span class='k'>Answer</span><div>{answer}</div></div>",
        _gold_row(item),
    ]
    body += [f"<div class='row'><span class='k'>Note</span><div class='na'>{escape(n)}</div></div>"
             for n in r.notes]
    body.append(_verdict_chips(r.verdicts))
    if r.citations:
        # Open for wrong answers, where the passages are what one reads to see why; folded otherwise.
        cites = "".join(_citation(r, c) for c in r.citations)
        body.append(f"<details{'' if right else ' open'}><summary>Cited passages ({len(r.citations)}), "
                    f"quotes highlighted</summary>{cites}</details>")
    sentences = "".join(
        f"<li class='{'ok' if s['supported'] else 'bad'}'>{'✓' if s['supported'] else '✗'} "
        f"{escape(s['text'])} {escape(str(s['markers']))}</li>"
        for s in r.verdicts.get("sentences", [])
    )
    if sentences:
        body.append(f"<details><summary>Sentence support (ALCE)</summary><ul class='support'>{sentences}"
                    f"</ul></details>")
    return "".join(body) + "</article>"
