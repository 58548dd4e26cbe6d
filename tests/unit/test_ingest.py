from __future__ import annotations

import json
import shutil

import pytest

from assistant.cli import main
from tests.conftest import FIXTURES, SEED

N_ARTICLES = 7  # the seed, four .txt fixtures, and two .jsonl lines


def test_ingest_adds_everything_once(make_assistant, corpus):
    a = make_assistant()
    report = a.ingest([corpus])
    assert (report.added, report.updated, report.unchanged, report.failed) == (N_ARTICLES, 0, 0, [])
    assert report.chunks == a.store.count_chunks() > N_ARTICLES
    stats = a.stats()
    assert stats.articles == N_ARTICLES
    assert (stats.first_published, stats.last_published) == ("2024-11-21", "2025-02-12")
    assert stats.outlets["towncrier.example.com"] == 2


def test_second_run_is_a_no_op(make_assistant, corpus):
    a = make_assistant()
    a.ingest([corpus])
    before = a.store.version()
    report = a.ingest([corpus])
    assert (report.added, report.updated, report.unchanged, report.chunks) == (0, 0, N_ARTICLES, 0)
    assert a.store.version() == before


def test_edited_article_replaces_its_chunks(make_assistant, corpus):
    a = make_assistant()
    a.ingest([corpus])
    path = corpus / "003_volcano.txt"
    path.write_text(path.read_text().replace("seventh time", "eighth time"))
    report = a.ingest([corpus])
    assert (report.added, report.updated, report.unchanged) == (0, 1, N_ARTICLES - 1)
    hits = a.store.lexical_search("Grindavik eruption", 10, _no_filters())
    texts = " ".join(p.text for p in hits)
    assert "eighth time" in texts and "seventh time" not in texts
    assert a.store.stats().articles == N_ARTICLES


def test_shrinking_article_leaves_no_stale_chunks(make_assistant, corpus):
    a = make_assistant()
    seed = corpus / SEED.name
    a.ingest([seed])
    long_count = a.store.count_chunks()
    text = seed.read_text()
    start = text.index("<CONTENT>") + len("<CONTENT>")
    seed.write_text(text[:start] + "\nRussia and Iran signed a treaty.\n</CONTENT>\n")
    a.ingest([seed])
    assert a.store.count_chunks() < long_count
    assert a.store.count_chunks() == a.store.stats().chunks


def test_prune_removes_articles_whose_files_are_gone(make_assistant, corpus):
    a = make_assistant()
    a.ingest([corpus])
    (corpus / "004_chess.txt").unlink()
    assert a.ingest([corpus]).removed == 0  # without --prune nothing is removed
    report = a.ingest([corpus], prune=True)
    assert report.removed == 1
    assert a.stats().articles == N_ARTICLES - 1
    assert not a.store.lexical_search("Gukesh chess", 5, _no_filters())


def test_bad_files_are_reported_and_the_rest_ingested(make_assistant, corpus):
    (corpus / "empty.txt").write_text("")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x00" * 50)
    (corpus / "latin1.txt").write_bytes("<TITLE>Caf\xe9</TITLE><CONTENT>x</CONTENT>".encode("latin-1"))
    (corpus / "nocontent.txt").write_text("<TITLE>Only a title</TITLE>\n")
    (corpus / "unclosed.txt").write_text("<TITLE>Broken</TITLE>\n<CONTENT>\nText without end\n")
    shutil.copy(FIXTURES / "002_congestion.txt", corpus / "zz_duplicate_url.txt")
    a = make_assistant()
    report = a.ingest([corpus])
    failed = {f.file.rsplit("/", 1)[-1]: f.reason for f in report.failed}
    assert set(failed) == {"empty.txt", "binary.txt", "latin1.txt", "nocontent.txt",
                           "unclosed.txt", "zz_duplicate_url.txt"}
    assert "002_congestion.txt" in failed["zz_duplicate_url.txt"]
    assert report.added == N_ARTICLES


def test_unparseable_date_is_ingested_with_a_warning(make_assistant, tmp_path):
    path = tmp_path / "odd.txt"
    path.write_text("<TITLE>Odd date</TITLE><PUBLISHED_DATE>sometime soon</PUBLISHED_DATE>"
                    "<URL>https://x.test/odd</URL><CONTENT>Some text here.</CONTENT>")
    a = make_assistant()
    report = a.ingest([path])
    assert report.added == 1 and not report.failed
    assert any("sometime soon" in w.reason for w in report.warnings)
    assert a.stats().first_published is None


def test_recover_clears_half_written_articles(make_assistant, corpus):
    a = make_assistant()
    a.ingest([corpus])
    # Simulate a run killed after marking articles pending but before committing them.
    with a.store._db:
        a.store._db.execute("UPDATE articles SET state='pending' WHERE url LIKE '%volcano%'"
                            " OR url LIKE '%eruption%'")
    report = a.ingest([corpus])
    assert report.recovered == 1 and report.added == 1
    assert a.stats().articles == N_ARTICLES
    assert a.store.count_chunks() == a.stats().chunks


def test_filters_by_date_and_outlet(make_assistant, corpus):
    from assistant.types import Filters
    import datetime as dt

    a = make_assistant()
    a.ingest([corpus])
    f = Filters(since=dt.date(2025, 1, 1), until=dt.date(2025, 1, 31))
    dense = a.store.dense_search(a.embeddings.embed_query("volcano chess gulf toll"), 20, f)
    lexical = a.store.lexical_search("volcano chess gulf toll", 20, f)
    for hits in (dense, lexical):
        assert hits and all(dt.date(2025, 1, 1) <= p.published <= dt.date(2025, 1, 31) for p in hits)
    only = a.store.lexical_search("bakery school", 20, Filters(outlets=("towncrier.example.com",)))
    assert only and {p.outlet for p in only} == {"towncrier.example.com"}
    excluded = a.store.lexical_search("bakery", 20, Filters(exclude_articles=(only[0].article_id,)))
    assert all(p.article_id != only[0].article_id for p in excluded)


def test_cli_ingest_and_stats_json(corpus, tmp_path, capsys, monkeypatch):
    import assistant.service as service
    from assistant.testing import HashingEmbeddings, word_count_tokens

    real_init = service.Assistant.__init__

    def with_fakes(self, settings=None, **kw):
        real_init(self, settings, embeddings=HashingEmbeddings(), count_tokens=word_count_tokens)

    monkeypatch.setattr(service.Assistant, "__init__", with_fakes)
    (corpus / "broken.txt").write_text("<TITLE>x</TITLE>")
    data = ["--data-dir", str(tmp_path / "d")]
    assert main(["ingest", str(corpus), "--json", "--quiet", *data]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["added"] == N_ARTICLES and out["chunks"] > 0
    assert [f["file"].rsplit("/", 1)[-1] for f in out["failed"]] == ["broken.txt"]
    (corpus / "broken.txt").unlink()
    assert main(["ingest", str(corpus), "--json", "--quiet", *data]) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == N_ARTICLES
    assert main(["stats", "--json", *data]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert set(stats) == {"articles", "chunks", "first_published", "last_published", "outlets"}
    assert stats["articles"] == N_ARTICLES


def _no_filters():
    from assistant.types import Filters

    return Filters()


@pytest.mark.parametrize("name", ["x", "-news", "news..v2", "news/2025", "n" * 600])
def test_collection_names_chroma_refuses_are_a_config_error(tmp_path, capsys, name):
    code = main(["stats", "--data-dir", str(tmp_path), f"--collection={name}"])
    assert code == 2
    assert "letters, digits" in capsys.readouterr().err
