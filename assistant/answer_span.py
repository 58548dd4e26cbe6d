"""The model's answer, completed to the phrase its passage writes.

Asked for the answer's words alone, a small model often clips them: "Joe Biden" where its
passage says "President Joe Biden", "McIlroy" for "Rory McIlroy", "30" for "30 days". The
reply is looked up in its passage word for word (case and the punctuation at a word's
ends aside) and widened there in the two directions English puts the rest of such a
phrase: a name takes the capitalised words right before it (a title, a first name, an
organisation: "Transportation Secretary Sean Duffy"), and a number met once in the
passage takes the word right after it (its unit: "30 days", "4,700 jobs"); "5 million
dollars" is "$5 million" where the passage writes it so. Nothing is
added that the passage does not say in that place; a reply it does not hold word for word,
or a long one, stays as it is.
"""

from __future__ import annotations

import re

from assistant.terms import STOPWORDS

__all__ = ["complete_span"]

# Punctuation that sits at a word's ends without being part of it ("(Reuters)", "Biden,").
_EDGE = "\"'“”‘’()[]{},.;:!?%$"
_CLAUSE_END = tuple(",.;:!?)]”\"'’")
_NUMBER = re.compile(r"^\d[\d,.]*$")
_DOLLARS = ("dollars", "dollar")


def complete_span(answer: str, passage: str, *, max_words: int = 6, widen: int = 3) -> str:
    """``answer`` as its first mention in ``passage`` writes it ("25%" for "25"), with up to
    ``widen`` capitalised words before a name, or the unit after a number; else ``answer``."""
    stop = answer.rstrip()[-1:] if answer.rstrip().endswith((".", "!", "?")) else ""
    words = [w for w in answer.split() if _key(w)]  # "Spain ." is the word "Spain"
    if not words or len(words) > max_words:
        return answer
    keys = [_key(w) for w in words]
    tokens, line_starts = _tokens(passage)
    token_keys = [_key(t) for t in tokens]
    at = _find(token_keys, keys)
    if at is None and len(keys) > 1 and keys[-1] in _DOLLARS:
        # "5 million dollars" where the passage writes "$5 million".
        words, keys = words[:-1], keys[:-1]
        at = _find(token_keys, keys)
        if at is not None and not tokens[at].startswith("$"):
            at = None
    if at is None:
        return answer
    start, end = at, at + len(keys)
    # A name as the passage writes it ('"Lilo' opens a quoted title: whole already), within
    # its line: the line before a dateline's "NEW YORK" is a byline, not a title.
    if tokens[at][:1].isupper():
        while (start > 0 and at - start < widen and start not in line_starts
               and _leads_into(tokens[start - 1])):
            start -= 1
    if (_NUMBER.match(keys[-1]) and token_keys.count(keys[-1]) == 1
            and _is_unit(tokens[end - 1 : end + 2])):
        end += 1
    # The reply's own letters where it matched ("Boulder" for a dateline's "BOULDER,").
    found = [_respell(tokens[at + i], word) for i, word in enumerate(words)]
    span = _tidy(" ".join([*tokens[start:at], *found, *tokens[at + len(words) : end]]))
    return span + stop if span else answer


def _tokens(text: str) -> tuple[list[str], frozenset[int]]:
    """``text``'s words, and the positions of those that begin a line."""
    tokens, starts, gap_from = [], {0}, 0
    for match in re.finditer(r"\S+", text):
        if "\n" in text[gap_from : match.start()]:
            starts.add(len(tokens))
        tokens.append(match.group())
        gap_from = match.end()
    return tokens, frozenset(starts)


def _key(word: str) -> str:
    return word.strip(_EDGE).lower().replace("’", "'")


def _respell(token: str, word: str) -> str:
    """``token`` with its letters' case as ``word`` (the same word) writes them; its
    apostrophes stay the passage's ("McDonald’s" for "McDonald's")."""
    core = token.strip(_EDGE)
    mine = word.strip(_EDGE)
    if not core or len(core) != len(mine):
        return token
    spelled = "".join(m if m.lower() == c.lower() else c for c, m in zip(core, mine))
    return token.replace(core, spelled, 1)


def _find(haystack: list[str], needle: list[str]) -> int | None:
    for i in range(len(haystack) - len(needle) + 1):
        if haystack[i : i + len(needle)] == needle:
            return i
    return None


def _leads_into(token: str) -> bool:
    """Whether ``token``, right before a name, belongs to it: a capitalised word that is
    not a function word ("The", "In") and ends no clause ("Monday," does not)."""
    word = token.strip(_EDGE)
    return (bool(word) and word[0].isupper() and word.lower() not in STOPWORDS
            and not token.endswith(_CLAUSE_END))


def _is_unit(tokens: list[str]) -> bool:
    """Whether ``tokens`` (a number, what follows) start with the number's unit: a lower-case
    word right after it that ends the phrase ("30 days.", "4,700 jobs in"; not "30. The",
    "30, and", or the adjective of "27 official languages")."""
    if len(tokens) < 2 or tokens[0].endswith(_CLAUSE_END):
        return False
    word = tokens[1].strip(_EDGE)
    if not (word.isalpha() and word.islower() and word not in STOPWORDS):
        return False
    if tokens[1].endswith(_CLAUSE_END) or len(tokens) == 2:
        return True
    after = tokens[2].strip(_EDGE)
    return not (after.isalpha() and after.islower()) or after in STOPWORDS


def _tidy(span: str) -> str:
    """The span without the punctuation that ends its clause, brackets around it, or a
    bracket or quote that opens or closes outside it (quotes around a title stay)."""
    span = re.sub(r"[,.;:!?]+(?=[\"'”’]?$)", "", span)  # 'Stitch,"' as well as 'States,'
    for left, right in ("()", "[]"):
        if span.startswith(left) and span.endswith(right):
            span = span[1:-1]
    for left, right in ("()", "[]", "“”", "‘’"):
        # An apostrophe inside a word ("McDonald’s") closes no quote.
        marks = re.sub(r"(?<=\w)’(?=\w)", "", span)
        if marks.count(left) != marks.count(right):
            closing = re.escape(right)
            span = re.sub(rf"(?<!\w){closing}|{closing}(?!\w)", "", span.replace(left, ""))
    if span.count('"') % 2:
        span = span.replace('"', "")
    return span.rstrip(",.;:!?").strip()
