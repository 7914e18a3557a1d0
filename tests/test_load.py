"""Loading and cleaning, on the real seed files and on small files of every supported kind."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.ingest.clean import clean_article, clean_text
from rag.ingest.load import load_path
from rag.models import Article
from rag.settings import Settings

SEEDS = Path(__file__).parent.parent / "seeds"
S002, S003, S004 = "002_8feaf9a31dabf8c4.txt", "003_5a6ab8df16395d7b.txt", "004_00e9475819bc7133.txt"

# Chrome that must be gone from the cleaned seed text.
CHROME = {
    S002: ["Dark Mode", "Logo", "•", "Monday, 02 December 2024", "Military escalation in Syria coinciding"],
    S003: ["Read Full Article", "RT.com"],
    S004: ["Date:", "Share post", "Popular", "More like this", "Related", "Also read", "16 dead in clashes",
           "post-series depression", "Post-Series Depression", "illegal waste dumping", "€20,000",
           "Is Cyprus the new Incirlik", "Hama falls into rebel hands", "strategic isolation"],
}


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    result = load_path(SEEDS)
    assert result.skipped == []
    return {a.doc_id: a for a in result.articles}


@pytest.fixture(scope="module")
def bare_seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Article]:
    """The seed texts without their sidecars: what extraction alone finds."""
    folder = tmp_path_factory.mktemp("bare")
    for file in SEEDS.glob("*.txt"):
        shutil.copyfile(file, folder / file.name)
    return {a.doc_id: a for a in load_path(folder).articles}


def test_all_five_seeds_load_with_relative_ids(seeds: dict[str, Article]) -> None:
    assert sorted(seeds) == sorted(p.name for p in SEEDS.glob("*.txt"))
    for doc_id, article in seeds.items():
        assert article.source == doc_id
        assert article.text == article.text.strip()
        assert "\n\n\n" not in article.text
        assert not any(line != line.strip() for line in article.text.split("\n"))


@pytest.mark.parametrize("doc_id", sorted(CHROME))
def test_site_chrome_is_gone(seeds: dict[str, Article], doc_id: str) -> None:
    text = seeds[doc_id].text
    for chrome in CHROME[doc_id]:
        assert chrome not in text, chrome


def test_article_text_survives_cleaning(seeds: dict[str, Article]) -> None:
    # 003's "Read Full Article" sentence shared its line with article text, which must stay.
    lead = "Hama, located in west-central Syria, is currently encircled by jihadist militants."
    assert lead in seeds[S003].text
    assert seeds[S004].text.endswith("Source: ANA-MPA")
    assert "is currently in Moscow." in seeds[S004].text
    assert seeds[S002].text.endswith("Levant-Agencies")
    # The headline stays as the first line: citations may point into it.
    for doc_id in (S002, S003, S004):
        assert seeds[doc_id].text.startswith(seeds[doc_id].title or "?")
    # The teaser bullet repeated 002's headline; only the headline itself remains.
    assert seeds[S002].text.count("Iranian Military Advisors Remain in Syria") == 1


def test_body_text_of_clean_seeds_is_untouched(seeds: dict[str, Article]) -> None:
    for name in ("000_0acf8dbdca9c3ed5.txt", "001_67bca2c928883e00.txt"):
        raw = (SEEDS / name).read_text(encoding="utf-8")
        assert seeds[name].text == raw.strip()


def test_metadata_extracted_from_text_alone(bare_seeds: dict[str, Article]) -> None:
    assert bare_seeds[S002].title == "Iranian Military Advisors Remain in Syria at Regime's Request"
    assert bare_seeds[S002].published == date(2024, 12, 2)
    assert bare_seeds[S002].outlet == "Levant-Agencies"
    assert bare_seeds[S003].title == "Syrian military declares departure from major city"
    assert bare_seeds[S003].outlet == "TROIB News"
    assert bare_seeds[S004].title == "Syrian army counterattacks rebels near Hama"
    assert bare_seeds[S004].outlet == "ANA-MPA"
    assert bare_seeds[S004].published is None
    for name in ("000_0acf8dbdca9c3ed5.txt", "001_67bca2c928883e00.txt"):
        article = bare_seeds[name]
        # 000 cites the Wall Street Journal, but that is not its outlet.
        assert (article.title, article.outlet, article.published) == (None, None, None)


def test_seed_sidecars_agree_with_text_and_change_the_hash(
        seeds: dict[str, Article], bare_seeds: dict[str, Article]) -> None:
    for doc_id, article in seeds.items():
        bare = bare_seeds[doc_id]
        assert (article.title, article.outlet, article.published) == (bare.title, bare.outlet, bare.published)
        raw = (SEEDS / doc_id).read_bytes()
        sidecar = SEEDS / doc_id.replace(".txt", ".meta.json")
        extra = sidecar.read_bytes() if sidecar.exists() else b""
        assert article.content_hash == hashlib.sha256(raw + extra).hexdigest()
        assert (article.content_hash == bare.content_hash) == (not sidecar.exists())


def test_sidecar_overrides_extracted_metadata(tmp_path: Path) -> None:
    shutil.copyfile(SEEDS / S002, tmp_path / S002)
    (tmp_path / S002.replace(".txt", ".meta.json")).write_text(json.dumps(
        {"title": "Iran keeps advisors in Syria", "outlet": "Levant", "published": "2024-12-03",
         "url": "https://example.org/a"}), encoding="utf-8")
    [article] = load_path(tmp_path).articles
    assert article.title == "Iran keeps advisors in Syria"
    assert article.outlet == "Levant"
    assert article.published == date(2024, 12, 3)
    assert article.url == "https://example.org/a"
    assert article.metadata()["published"] == "2024-12-03"


def test_broken_sidecar_skips_only_its_article(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A short article about Hama.\nIt has two lines.", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Another article about Aleppo.", encoding="utf-8")
    (tmp_path / "b.meta.json").write_text(json.dumps({"titel": "typo"}), encoding="utf-8")
    (tmp_path / "c.txt").write_text("A third article about Homs.", encoding="utf-8")
    (tmp_path / "orphan.meta.json").write_text(json.dumps({"title": "x"}), encoding="utf-8")
    result = load_path(tmp_path)
    assert [a.doc_id for a in result.articles] == ["c.txt"]
    reasons = dict(result.skipped)
    assert "a.meta.json is not valid JSON" in reasons["a.txt"]
    assert "unknown fields ['titel']" in reasons["b.txt"]
    assert "no article file" in reasons["orphan.meta.json"]


HTML = """<!doctype html><html><head><meta charset="utf-8">
<title>Rebels reach the outskirts of Hama | Example News</title>
<meta property="og:title" content="Rebels reach the outskirts of Hama">
<meta property="og:site_name" content="Example News">
<meta property="og:url" content="https://news.example.com/hama">
<meta property="article:published_time" content="2024-12-03T08:00:00Z">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li>Dark Mode</li></ul></nav>
<article>
<h1>Rebels reach the outskirts of Hama</h1>
<p>Syrian rebels reached the outskirts of Hama on Tuesday, residents said, after a week-long offensive
that began in Idlib province and swept through Aleppo.</p>
<p>The army said it had sent reinforcements to the city and that heavy fighting continued in the northern
countryside through the night, with air strikes on several villages.</p>
<p>Aid groups warned that thousands of families had fled towards Homs, where shelters were already full.</p>
<p>Also read: Ten things to know about the war</p>
</article>
<aside><h3>Related</h3><ul><li><a href="/x">Football club signs new striker</a></li></ul></aside>
<footer><p>Share post:</p><p>© 2024 Example News. All rights reserved.</p></footer>
</body></html>"""


def test_html_main_text_and_metadata(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(HTML, encoding="utf-8")
    [article] = load_path(tmp_path / "page.html").articles
    assert article.doc_id == "page.html"
    assert article.title == "Rebels reach the outskirts of Hama"
    assert article.outlet == "Example News"
    assert article.url == "https://news.example.com/hama"
    assert article.published == date(2024, 12, 3)
    assert "shelters were already full" in article.text
    chrome_words = ("Home", "World", "Dark Mode", "Football", "Share post", "rights reserved", "Also read")
    for chrome in chrome_words:
        assert chrome not in article.text, chrome


def test_html_without_a_date_gets_none_not_a_guess(tmp_path: Path) -> None:
    page = HTML.replace('<meta property="article:published_time" content="2024-12-03T08:00:00Z">', "")
    (tmp_path / "page.htm").write_text(page, encoding="utf-8")
    [article] = load_path(tmp_path).articles
    assert article.published is None  # the "© 2024" footer is not a publication date


def test_markdown_markup_is_stripped(tmp_path: Path) -> None:
    (tmp_path / "note.md").write_text(
        "---\ntitle: \"Hama: a timeline\"\ndate: 2024-12-06\nsource: Field Notes\n---\n"
        "# Hama: a timeline\n\n"
        "The army **withdrew** from [Hama](https://example.com/hama) on *Thursday*, "
        "the `SAR` command said.\n\n"
        "![map](map.png)\n\n> Residents said the city was quiet.\n\n- Aleppo fell on 30 November.\n",
        encoding="utf-8")
    [article] = load_path(tmp_path).articles
    assert article.title == "Hama: a timeline"
    assert article.published == date(2024, 12, 6)
    assert article.outlet == "Field Notes"
    assert "The army withdrew from Hama on Thursday, the SAR command said." in article.text
    assert "Residents said the city was quiet." in article.text
    assert "- Aleppo fell on 30 November." in article.text
    for markup in ("**", "](", "![", "#", "> ", "`", "---"):
        assert markup not in article.text, markup


def test_json_and_jsonl_records_become_articles(tmp_path: Path) -> None:
    records = [
        {"title": "One", "text": "The first record talks about Aleppo.", "date": "2024-11-30",
         "source": "Wire", "url": "https://example.com/1"},
        {"text": "The second record has no title."},
        {"title": "No text here"},
    ]
    (tmp_path / "list.json").write_text(json.dumps(records), encoding="utf-8")
    (tmp_path / "one.json").write_text(json.dumps({"id": "x1", "text": "A single object."}), encoding="utf-8")
    lines = [json.dumps({"id": "a", "text": "Line one is about Hama."}), "", "{broken",
             json.dumps({"text": "Line four is about Homs.", "published": "5 December 2024"}),
             json.dumps([1])]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_path(tmp_path)
    articles = {a.doc_id: a for a in result.articles}
    assert sorted(articles) == ["feed.jsonl#4", "feed.jsonl#a", "list.json#1", "list.json#2", "one.json#x1"]
    first = articles["list.json#1"]
    assert (first.title, first.outlet, first.published, first.url, first.source) == (
        "One", "Wire", date(2024, 11, 30), "https://example.com/1", "list.json")
    assert articles["feed.jsonl#4"].published == date(2024, 12, 5)
    assert len({a.content_hash for a in result.articles}) == 5
    reasons = dict(result.skipped)
    assert "no text" in reasons["list.json#3"]
    assert "invalid JSON" in reasons["feed.jsonl#3"]
    assert "not a JSON object" in reasons["feed.jsonl#5"]


def test_bad_files_are_skipped_and_named_while_others_load(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Fighting continued near Hama on Friday.", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("  \n\n ", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "latin1.txt").write_bytes("Caf\u00e9 in Hama, r\u00e9sum\u00e9 of the day.".encode("latin-1"))
    (tmp_path / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    (tmp_path / "chrome.txt").write_text("Dark Mode\nLogo\nShare post:\n", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("A hidden file is not an article.", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("Not an article either.", encoding="utf-8")
    (tmp_path / "README.md").write_text("# My articles\n\nScraped last week.", encoding="utf-8")
    sub = tmp_path / "sub" / "deeper"
    sub.mkdir(parents=True)
    (sub / "nested.txt").write_text("A nested article about Homs.", encoding="utf-8")
    result = load_path(tmp_path)
    assert sorted(a.doc_id for a in result.articles) == ["good.txt", "sub/deeper/nested.txt"]
    reasons = dict(result.skipped)
    assert set(reasons) == {"empty.txt", "blank.md", "image.txt", "latin1.txt", "data.csv", "broken.json",
                            "chrome.txt"}
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["image.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert ".csv" in reasons["data.csv"]
    assert "not valid JSON" in reasons["broken.json"]
    assert "no article text" in reasons["chrome.txt"]


def test_folder_without_articles_returns_empty_result(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text("x", encoding="utf-8")
    result = load_path(tmp_path)
    assert result.articles == []
    assert [name for name, _ in result.skipped] == ["notes.csv"]
    assert load_path(tmp_path / "notes.csv").skipped == result.skipped


def test_missing_path_raises_rag_error(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="does not exist"):
        load_path(tmp_path / "nope")


def test_single_file_doc_id_is_its_name_and_crlf_is_normalised(tmp_path: Path) -> None:
    raw = "\ufeffHeadline here\r\n\r\n\r\n\r\nBody text   \r\nMore.\r\n"
    (tmp_path / "win.txt").write_bytes(raw.encode())
    [article] = load_path(tmp_path / "win.txt").articles
    assert article.doc_id == "win.txt"
    assert article.text == "Headline here\n\nBody text\nMore."
    assert article.title == "Headline here"


def test_clean_text_general_patterns() -> None:
    scraped = "\n".join([
        "Menu", "Search", "  • Teaser headline one", "  • Teaser headline two",
        "Published: 3 December 2024 10:15 GMT",
        "Army regroups north of Homs",
        "DAMASCUS (Reuters) - The army regrouped north of Homs on Tuesday after losing Hama, officials said. "
        "Read the full story at Reuters.com.",
        "Read more: Another unrelated story",
        "Officials said reinforcements were on their way to the front lines in the north.",
        "Share this article", "Facebook Twitter WhatsApp",
        "You may also like", "Unrelated teaser", "Another teaser.",
    ])
    cleaned = clean_article(scraped)
    assert cleaned.published == date(2024, 12, 3)
    assert cleaned.title == "Army regroups north of Homs"
    assert cleaned.outlet == "Reuters"
    assert cleaned.text == (
        "Army regroups north of Homs\n"
        "DAMASCUS (Reuters) - The army regrouped north of Homs on Tuesday after losing Hama, "
        "officials said.\n"
        "Officials said reinforcements were on their way to the front lines in the north.")
    assert clean_text(scraped) == cleaned.text


def test_key_point_bullets_at_the_top_stay() -> None:
    text = "- Rebels took Aleppo on Saturday.\n- The army left Hama.\nThe offensive began on 27 November."
    assert clean_text(text) == text


def test_caps_come_from_settings_and_name_the_setting(tmp_path: Path) -> None:
    (tmp_path / "small.txt").write_text("A short article about Hama.", encoding="utf-8")
    (tmp_path / "long.txt").write_text("A longer article about Hama. " * 100, encoding="utf-8")
    (tmp_path / "page.html").write_text("<html><body>" + "<p>Hama news today.</p>" * 20 + "</body></html>")
    settings = Settings(data_dir=tmp_path / "data", max_file_mb=0.001, max_html_elements=10)
    result = load_path(tmp_path, settings)
    assert [a.doc_id for a in result.articles] == ["small.txt"]
    reasons = dict(result.skipped)
    assert "over the 0.001 MB cap per file (RAG_MAX_FILE_MB)" in reasons["long.txt"]
    assert "22 elements, over the cap of 10 (RAG_MAX_HTML_ELEMENTS)" in reasons["page.html"]
    assert len(load_path(tmp_path).articles) == 3  # the defaults take all three


def test_links_inside_the_folder_are_read_and_links_out_are_not(tmp_path: Path) -> None:
    folder, outside = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret words.", encoding="utf-8")
    (folder / "real.txt").write_text("An article about Homs.", encoding="utf-8")
    (folder / "alias.txt").symlink_to(folder / "real.txt")
    (folder / "leak.txt").symlink_to(outside / "secret.txt")
    (folder / "real.meta.json").symlink_to(outside / "secret.txt")  # a sidecar leading out skips its article
    result = load_path(folder)
    assert [a.doc_id for a in result.articles] == ["alias.txt"]
    reasons = dict(result.skipped)
    assert "outside the folder" in reasons["leak.txt"] and "outside the folder" in reasons["real.txt"]
    assert all("Secret" not in a.text for a in result.articles)
    assert result.entries == 4 == len(result.files) + len(result.skipped)
