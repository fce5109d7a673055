"""Text metrics from scratch: perplexity, BLEU (as sacrebleu computes it) and ROUGE-N / ROUGE-L
(as rouge-score computes them). Inputs are already tokenized: lists of token strings.
Argument order follows scikit-learn: references (the truth) first, then the system output.
"""
import math
from collections import Counter

import numpy as np

from dlbook.checks import check_choice, check_int, check_real, finite_array


def perplexity(token_probs):
    """exp(mean negative log-likelihood) of the probabilities a model gave the observed tokens."""
    p = finite_array("token_probs", token_probs).ravel()
    if p.size == 0:
        raise ValueError("token_probs must not be empty")
    if np.any((p <= 0) | (p > 1)):
        raise ValueError("token_probs must hold probabilities in (0, 1]")
    return float(np.exp(-np.mean(np.log(p))))


def _tokens(name, seq):
    if isinstance(seq, str) or not all(isinstance(t, str) for t in seq):
        raise ValueError(f"{name} must be a list of token strings (split the text first)")
    return list(seq)


def ngrams(tokens, n):
    """Counter of the n-grams (tuples) of a token list."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu_statistics(references, hypothesis, max_n=4):
    """Sufficient statistics of one segment: hypothesis length, closest reference length, and
    per order n the clipped matches and the hypothesis n-gram count."""
    hyp = _tokens("hypothesis", hypothesis)
    refs = [_tokens("references", r) for r in references]
    if not refs:
        raise ValueError("references must hold at least one reference")
    ref_lens = [len(r) for r in refs]
    closest = min(ref_lens, key=lambda L: (abs(len(hyp) - L), L))      # ties: the shorter one
    correct, total = [], []
    for n in range(1, max_n + 1):
        h = ngrams(hyp, n)
        best = Counter()
        for r in refs:                                   # each n-gram clipped by its max ref count
            best |= ngrams(r, n)
        correct.append(sum(min(c, best[g]) for g, c in h.items()))
        total.append(sum(h.values()))
    return len(hyp), closest, correct, total


def bleu_from_statistics(sys_len, ref_len, correct, total, smooth="none", smooth_value=None,
                         effective_order=False):
    """BLEU in [0, 1] = brevity penalty * geometric mean of the modified n-gram precisions.
    Smoothing as sacrebleu (Chen & Cherry, 2014): 'none', 'floor' (zero counts -> smooth_value,
    default 0.1), 'add-k' (k added to counts of orders >= 2, default 1), 'exp' (the k-th zero
    precision becomes 1 / (2^k * total))."""
    check_choice("smooth", smooth, ["none", "floor", "add-k", "exp"])
    if smooth_value is None:
        smooth_value = {"none": None, "floor": 0.1, "add-k": 1.0, "exp": None}[smooth]
    correct, total = [float(c) for c in correct], [float(t) for t in total]
    max_n = len(correct)
    bp = 1.0 if sys_len >= ref_len else (math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0)
    if not any(correct):
        return 0.0
    precisions, order, halvings = [0.0] * max_n, max_n, 1.0
    for n in range(max_n):
        if smooth == "add-k" and n > 0:
            correct[n] += smooth_value
            total[n] += smooth_value
        if total[n] == 0:
            break
        if effective_order:
            order = n + 1                      # use only the orders the hypothesis has n-grams for
        if correct[n] == 0:
            if smooth == "exp":
                halvings *= 2
                precisions[n] = 1.0 / (halvings * total[n])
            elif smooth == "floor":
                precisions[n] = smooth_value / total[n]
        else:
            precisions[n] = correct[n] / total[n]
    if any(p == 0 for p in precisions[:order]):
        return 0.0                             # log 0: the geometric mean is 0
    return bp * math.exp(sum(math.log(p) for p in precisions[:order]) / order)


def corpus_bleu(references, hypotheses, max_n=4, smooth="none", smooth_value=None):
    """Corpus BLEU: statistics summed over segments first, then one score. references[i] is the
    list of reference token lists of segment i."""
    max_n = check_int("max_n", max_n, 1)
    if len(references) != len(hypotheses):
        raise ValueError(f"hypotheses must have one entry per segment ({len(references)}), got {len(hypotheses)}")
    sys_len = ref_len = 0
    correct, total = [0] * max_n, [0] * max_n
    for refs, hyp in zip(references, hypotheses):
        s, r, c, t = bleu_statistics(refs, hyp, max_n)
        sys_len, ref_len = sys_len + s, ref_len + r
        correct = [a + b for a, b in zip(correct, c)]
        total = [a + b for a, b in zip(total, t)]
    return bleu_from_statistics(sys_len, ref_len, correct, total, smooth, smooth_value)


def sentence_bleu(references, hypothesis, max_n=4, smooth="exp", smooth_value=None):
    """BLEU of one sentence, with sacrebleu's sentence defaults: 'exp' smoothing, effective order."""
    s, r, c, t = bleu_statistics(references, hypothesis, check_int("max_n", max_n, 1))
    return bleu_from_statistics(s, r, c, t, smooth, smooth_value, effective_order=True)


def _prf(overlap, n_pred, n_target):
    p, r = overlap / max(n_pred, 1), overlap / max(n_target, 1)
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)


def rouge_n(target, prediction, n=2):
    """ROUGE-N (precision, recall, F1) from clipped n-gram overlap."""
    n = check_int("n", n, 1)
    t, p = ngrams(_tokens("target", target), n), ngrams(_tokens("prediction", prediction), n)
    overlap = sum((t & p).values())
    return _prf(overlap, sum(p.values()), sum(t.values()))


def lcs_length(a, b):
    """Length of the longest common subsequence (dynamic programming, O(len a * len b))."""
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(target, prediction):
    """ROUGE-L (precision, recall, F1) from the longest common subsequence."""
    t, p = _tokens("target", target), _tokens("prediction", prediction)
    if not t or not p:
        return 0.0, 0.0, 0.0
    return _prf(lcs_length(t, p), len(p), len(t))


def unigram_f_mean(target, prediction, alpha=0.9):
    """The recall-weighted harmonic mean at the heart of METEOR (exact matches only, no
    synonyms, stems or fragmentation penalty): P R / (alpha P + (1 - alpha) R)."""
    alpha = check_real("alpha", alpha, 0, 1)
    p, r, _ = rouge_n(target, prediction, 1)
    return p * r / (alpha * p + (1 - alpha) * r) if p * r > 0 else 0.0
