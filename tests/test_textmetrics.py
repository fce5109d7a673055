"""dlbook.textmetrics against sacrebleu, rouge-score and torchmetrics."""
import numpy as np
import pytest
import sacrebleu
import torch
from hypothesis import example, given, settings, strategies as st
from rouge_score import rouge_scorer
from torchmetrics.functional.text import perplexity as tm_perplexity

from dlbook import textmetrics as tx

WORDS = st.lists(st.sampled_from(["the", "cat", "sat", "on", "a", "mat", "dog", "ran"]), min_size=0, max_size=12)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(WORDS, WORDS, WORDS), min_size=1, max_size=5),
       st.sampled_from(["none", "floor", "add-k", "exp"]))
@example([([], [], [])], "exp")                                      # empty hypothesis and references
@example([(["the", "cat"], ["the", "cat", "sat", "on", "a", "mat"], ["a", "cat"])], "none")   # brevity penalty
def test_corpus_bleu_matches_sacrebleu(segments, smooth):
    hyps = [h for h, _, _ in segments]
    refs = [[r1, r2] for _, r1, r2 in segments]
    ours = tx.corpus_bleu(refs, hyps, smooth=smooth)
    ref = sacrebleu.corpus_bleu([" ".join(h) for h in hyps],
                                [[" ".join(r[0]) for r in refs], [" ".join(r[1]) for r in refs]],
                                smooth_method=smooth, tokenize="none", force=True)
    assert 100 * ours == pytest.approx(ref.score, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(WORDS, WORDS, st.sampled_from(["none", "floor", "add-k", "exp"]))
@example([], ["the"], "exp")
@example(["the", "the", "the", "the", "cat"], ["the", "cat", "is", "on", "the", "mat"], "floor")
def test_sentence_bleu_matches_sacrebleu(hyp, ref, smooth):
    ours = tx.sentence_bleu([ref], hyp, smooth=smooth)
    theirs = sacrebleu.sentence_bleu(" ".join(hyp), [" ".join(ref)], smooth_method=smooth, tokenize="none")
    assert 100 * ours == pytest.approx(theirs.score, abs=1e-9)


def test_bleu_13a_equals_split_on_plain_words():
    hyp, ref = "the cat sat on the mat".split(), "the cat is on the mat".split()
    theirs = sacrebleu.corpus_bleu([" ".join(hyp)], [[" ".join(ref)]], tokenize="13a").score
    assert 100 * tx.corpus_bleu([[ref]], [hyp], smooth="exp") == pytest.approx(theirs, abs=1e-9)   # sacrebleu default


@settings(max_examples=30, deadline=None)
@given(WORDS, WORDS)
@example([], [])
@example(["the", "cat", "sat", "on", "the", "mat"], ["on", "the", "mat", "the", "cat", "sat"])
def test_rouge_matches_rouge_score(target, prediction):
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    ref = scorer.score(" ".join(target), " ".join(prediction))
    for ours, key in [(tx.rouge_n(target, prediction, 1), "rouge1"), (tx.rouge_n(target, prediction, 2), "rouge2"),
                      (tx.rouge_l(target, prediction), "rougeL")]:
        np.testing.assert_allclose(ours, tuple(ref[key]), rtol=1e-12, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(WORDS, WORDS)
def test_inline_clipped_precision_equals_dlbook(hyp, ref):
    # the chapter's inline clipped unigram precision
    clipped = sum(min(hyp.count(w), ref.count(w)) for w in set(hyp))
    _, _, correct, total = tx.bleu_statistics([ref], hyp)
    assert (clipped, len(hyp)) == (correct[0], total[0])


def test_inline_clipped_precision_chapter_example():
    hyp, ref = "the the the the cat".split(), "the cat is on the mat".split()
    clipped = sum(min(hyp.count(w), ref.count(w)) for w in set(hyp))
    _, _, correct, total = tx.bleu_statistics([ref], hyp)
    assert clipped / len(hyp) == correct[0] / total[0] == 0.6


def test_brevity_penalty_of_the_chapter_corpus():
    refs = ["the cat is on the mat", "there is a dog in the garden", "he reads a book every night"]
    hyps = ["the cat sat on the mat", "a dog is in the garden", "he reads every night"]
    stats = [tx.bleu_statistics([r.split()], h.split()) for r, h in zip(refs, hyps)]
    c, r = sum(s[0] for s in stats), sum(s[1] for s in stats)
    ref = sacrebleu.corpus_bleu(hyps, [refs], tokenize="none")
    assert (c, r) == (ref.sys_len, ref.ref_len) == (16, 19)
    assert np.exp(1 - r / c) == pytest.approx(ref.bp, abs=1e-12)
    assert [int(x) for x in np.sum([s[2] for s in stats], axis=0)] == list(ref.counts)
    assert [int(x) for x in np.sum([s[3] for s in stats], axis=0)] == list(ref.totals)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 3), st.integers(1, 8), st.integers(2, 20), st.integers(0, 10_000))
@example(1, 1, 2, 0)
def test_perplexity_matches_torchmetrics(b, t, v, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, t, v, generator=g, dtype=torch.float64) * 3
    target = torch.randint(0, v, (b, t), generator=g)
    probs = torch.softmax(logits, -1).gather(-1, target[..., None]).squeeze(-1)
    assert tx.perplexity(probs.numpy()) == pytest.approx(tm_perplexity(logits, target).item(), rel=1e-10)


def test_perplexity_of_uniform_model_is_vocabulary_size():
    assert tx.perplexity(np.full(7, 1 / 50)) == pytest.approx(50)


@pytest.mark.parametrize("call, name", [
    (lambda: tx.perplexity([]), "token_probs"),
    (lambda: tx.perplexity([0.5, 0.0]), "token_probs"),
    (lambda: tx.perplexity([0.5, 1.5]), "token_probs"),
    (lambda: tx.perplexity([np.nan]), "token_probs"),
    (lambda: tx.corpus_bleu([[["a"]]], [["a"], ["b"]]), "hypotheses"),
    (lambda: tx.corpus_bleu([[["a"]]], ["a b"]), "hypothesis"),
    (lambda: tx.sentence_bleu([["a"]], ["a"], smooth="laplace"), "smooth"),
    (lambda: tx.rouge_n(["a"], ["a"], n=0), "n"),
    (lambda: tx.rouge_l("a b", ["a"]), "target"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
