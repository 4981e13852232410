"""Matching a free-text question to an FAQ topic of the campaign file.

Pure Python, no segmenter, no model: what people type is normalised (full-width forms, traditional
characters, colloquial and misspelt variants), turned into features (Chinese character unigrams and
bigrams, English words and their character trigrams, with misspelt words corrected against the FAQ's own
vocabulary), weighted by how well each feature tells topics apart (IDF over topics), and compared with
every example phrasing, with each topic as a whole, and with the topic's keywords. The index is built
once per campaign object and cached.

Questions about another province, another year or another scheme are recognised first: the bot covers
one campaign and must not pretend its answers apply elsewhere.
"""

from __future__ import annotations

import math
import re
import unicodedata
import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from conversations.campaign import Campaign, FaqEntry

# The start of a message is enough to tell what it asks; the router refuses far longer input anyway.
MAX_CHARS = 300

# Decision thresholds on the combined score (0..1), calibrated on tests/data/faq_eval.toml.
CONFIDENT = 0.30  # at least this, and clearly ahead of the runner-up: answer
MARGIN = 0.06  # ... ahead by this much
# A lower score also answers when no other topic comes close (a short question, one strong clue).
CONFIDENT_ALONE = 0.22
DOMINANCE = 2.5  # ... times the runner-up's score
UNSURE = 0.10  # at least this: offer the nearest topics; below: no match


@dataclass(frozen=True)
class Match:
    best: str | None  # a confident answer
    candidates: tuple[str, ...]  # nearest topics, best first (also when confident)
    scores: tuple[float, ...] = ()  # the candidates' scores, for evaluation and logs
    out_of_scope: str | None = None  # "province:湖北", "year:2026", "scheme": not this campaign's business

    @property
    def top(self) -> str | None:
        return self.best or (self.candidates[0] if self.candidates else None)


# -- normalisation ---------------------------------------------------------------------------------------
# Traditional characters people in Hong Kong / Taiwan or on some keyboards type, mapped to the simplified
# ones of the FAQ (pairs: traditional, simplified).
_T2S_PAIRS = (
    "費费協协議议許许證证証证執执審审過过駁驳蓋盖簽签傳传載载項项專专選选擇择時时間间後后點点裡里裏里這这"
    "個个們们會会嗎吗麼么樣样辦办應应該该須须續续準准標标機机構构單单員员與与參参評评質质檢检驗验臨临實实"
    "際际績绩開开資资條条級级營营診诊獲获碼码號号帳账戶户聯联繫系係系話话郵邮遞递書书發发稅税識识別别務务"
    "門门試试劑剂廠厂醫医輸输紅红轉转結结為为沒没趕赶錯错補补報报註注冊册態态進进網网絡络統统計计劃划購购"
    "買买確确認认類类種种學学區区東东難难題题問问還还幾几錢钱繳缴請请衛卫縣县氣气細细數数腫肿寫写錄录陸陆"
    "帶带無无長长兩两歷历舊旧說说讓让給给對对從从體体當当張张啟启處处備备圖图掃扫價价額额謝谢經经銷销產产"
    "業业團团態态歲岁誰谁嗎吗樣样寄寄區区鐘钟續续"
)
_T2S = str.maketrans({_T2S_PAIRS[i]: _T2S_PAIRS[i + 1] for i in range(0, len(_T2S_PAIRS), 2)})

# Colloquial, regional and commonly misspelt forms -> the FAQ's wording. Applied to the questions and to
# the campaign's examples alike, so either side may use either form. Longest variants win.
_VARIANTS: dict[str, str] = {
    # when / how / why, as people say them
    "啥时候": "什么时候",
    "啥时": "什么时候",
    "多会儿": "什么时候",
    "几时": "什么时候",
    "为啥": "为什么",
    "干啥": "干什么",
    "咋办": "怎么办",
    "怎么弄": "怎么操作",
    "咋弄": "怎么操作",
    "怎么搞": "怎么操作",
    "咋搞": "怎么操作",
    "咋整": "怎么办",
    "怎么整": "怎么办",
    "咋": "怎么",
    "啥": "什么",
    "能不能": "能",
    "可不可以": "可以",
    "行不行": "可以",
    "需不需要": "需要",
    "要不要": "需要",
    "用不用": "需要",
    "是否需要": "需要",
    "有没有": "有",
    "还差": "还缺",
    "差什么": "缺什么",
    "咱们": "我们",
    "俺们": "我们",
    # registration vocabulary
    "截至": "截止",
    "截止日期": "截止",
    "最后期限": "截止",
    "ddl": "deadline",
    "报名": "申报",
    "登陆": "登录",
    "帐号": "账号",
    "帐户": "账号",
    "账户": "账号",
    "缴纳": "交费",
    "缴费": "交费",
    "交纳": "交费",
    "付费": "交费",
    "付款": "交费",
    "付钱": "交费",
    "交钱": "交费",
    "给钱": "交费",
    "缴": "交",
    "签名": "签字",
    "样本": "样品",
    "质控品": "样品",
    "执业证": "执业许可证",
    "执业许可证书": "执业许可证",
    # English
    "e-mail": "email",
    "sign up": "register",
    "signup": "register",
    "log in": "login",
    "log-in": "login",
    "logon": "login",
    "license": "licence",
    "licenses": "licence",
    "licences": "licence",
    "stamped": "stamp",
    "eqa's": "eqa",
    "programs": "programme",
    "program": "programme",
    "specialities": "specialty",
    "speciality": "specialty",
}
_VARIANT_RE = re.compile("|".join(re.escape(v) for v in sorted(_VARIANTS, key=len, reverse=True)))

_TOKEN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Characters and pairs that say nothing about the topic (particles, pronouns, question words). They still
# count inside other bigrams ("时候", "怎么办" are kept where they carry meaning).
_STOP_CHARS = set("的了吗呢吧啊呀哦嘛么是我你他她它们这那个什怎还就都也和与及或") | set(
    "请问一下在有要能可以会把被给让到对从为得着过啦哈嗯呃"
)
_STOP_BIGRAMS = {"什么", "怎么", "我们", "你们", "可以", "请问", "一下", "是不", "不是", "这个", "那个", "是什", "么时"}
_EN_STOP = {
    "a", "an", "the", "is", "are", "am", "be", "been", "being", "do", "does", "did", "i", "we", "you", "my", "our",
    "your", "it", "its", "this", "that", "these", "those", "to", "of", "in", "on", "for", "at", "by", "with",
    "and", "or", "me", "us", "there", "here", "please", "pls", "just", "so", "can", "could", "should", "would",
    "will", "shall", "may", "might", "have", "has", "had", "get", "got", "s", "hi", "hello", "thanks", "yet",
}  # fmt: skip

# Feature kinds and their weights: "u" Chinese character, "b" Chinese bigram, "w" English word,
# "t" English character trigram (typo tolerance, partial words).
_KIND_WEIGHT = {"u": 0.35, "b": 1.0, "w": 1.0, "t": 0.3}
# How the three views of a topic combine into one score.
_W_EXAMPLE, _W_TOPIC, _W_KEYWORD = 0.55, 0.25, 0.20


def normalise(text: str) -> str:
    """Lower-case, half-width, simplified, with colloquial and misspelt variants replaced."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold().translate(_T2S)
    return _VARIANT_RE.sub(lambda m: _VARIANTS[m.group(0)], text)


def _stem(word: str) -> str:
    """A light English stemmer: the same crude rules on both sides are all that matching needs."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _words(norm: str) -> Iterable[tuple[bool, str]]:
    """(is_chinese, token) for each run of Chinese characters or English letters/digits."""
    for m in _TOKEN_RE.finditer(norm):
        tok = m.group(0)
        yield bool(_HAN_RE.match(tok)), tok


def _features(norm: str, fix: _Speller | None = None) -> Counter[str]:
    feats: Counter[str] = Counter()
    for chinese, tok in _words(norm):
        if chinese:
            for ch in tok:
                if ch not in _STOP_CHARS:
                    feats["u" + ch] += 1
            for i in range(len(tok) - 1):
                pair = tok[i : i + 2]
                if pair not in _STOP_BIGRAMS:
                    feats["b" + pair] += 1
            continue
        if tok in _EN_STOP:
            continue
        word = _stem(tok)
        if fix is not None:
            word = fix(word)
        feats["w" + word] += 1
        padded = f"<{word}>"
        for i in range(len(padded) - 2):
            feats["t" + padded[i : i + 3]] += 1
    return feats


def meaningful_length(text: str) -> int:
    """Characters that could carry a question: letters and digits (emoji, punctuation, spaces aside)."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


# -- spelling ---------------------------------------------------------------------------------------------
class _Speller:
    """Corrects an English word to the nearest word of the FAQ's vocabulary (one edit for short words, two
    for long ones), through a table of deletions built once: fast, and never invents a word."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.vocab = {w for w in vocabulary if len(w) >= 4 and not w.isdigit()}
        self.deletes: dict[str, set[str]] = {}
        self.seen: dict[str, str] = {}
        for w in self.vocab:
            for d in self._deletions(w, self._budget(w)):
                self.deletes.setdefault(d, set()).add(w)

    @staticmethod
    def _budget(word: str) -> int:
        return 2 if len(word) >= 7 else 1

    @staticmethod
    def _deletions(word: str, depth: int) -> set[str]:
        found = {word}
        frontier = {word}
        for _ in range(depth):
            frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
            found |= frontier
        return found

    def __call__(self, word: str) -> str:
        if len(word) < 4 or word in self.vocab or word.isdigit():
            return word
        known = self.seen.get(word)
        if known is None:
            known = self._correct(word)
            if len(self.seen) < 4096:  # the same misspellings come back; a bound keeps memory flat
                self.seen[word] = known
        return known

    def _correct(self, word: str) -> str:
        best, best_d = word, 99
        for d in self._deletions(word, self._budget(word)):
            for cand in self.deletes.get(d, ()):
                dist = _distance(word, cand)
                if dist <= self._budget(cand) and (dist, cand) < (best_d, best):
                    best, best_d = cand, dist
        return best


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


# -- the index --------------------------------------------------------------------------------------------
@dataclass
class _Index:
    ids: tuple[str, ...]
    idf: dict[str, float]
    unknown_idf: float
    speller: _Speller
    # feature -> [(example number, weight)], examples being unit vectors; example number -> topic number
    example_postings: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    example_topic: list[int] = field(default_factory=list)
    # feature -> [(topic number, weight)]: each topic's texts together, as one unit vector
    topic_postings: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    # normalised keyword -> [(topic number, weight)]
    keywords: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    keyword_re: re.Pattern[str] | None = None
    # scope: the campaign's own province (found in its centre's name), every other one, its years
    home: tuple[tuple[str, str], ...] = ()
    elsewhere: re.Pattern[str] | None = None
    elsewhere_names: dict[str, str] = field(default_factory=dict)  # "湖北" and "hubei" -> "湖北"
    years: frozenset[int] = frozenset()
    # the campaign's own centre and province: named in a question, they say nothing about the topic
    own_names: re.Pattern[str] | None = None


def _texts(entry: FaqEntry) -> list[str]:
    return [entry.topic, entry.topic_en, *entry.examples, *entry.examples_en]


def _weighted(feats: Counter[str], idf: dict[str, float], unknown: float) -> dict[str, float]:
    # Sublinear term frequency: a repeated character should not dominate.
    return {f: (1 + math.log(n)) * _KIND_WEIGHT[f[0]] * idf.get(f, unknown) for f, n in feats.items()}


def _unit(vec: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {f: v / norm for f, v in vec.items()}


def _build(campaign: Campaign) -> _Index:
    entries = campaign.faq
    vocabulary = {
        _stem(tok)
        for e in entries
        for text in (*_texts(e), *e.keywords)
        for chinese, tok in _words(normalise(text))
        if not chinese
    }
    speller = _Speller(vocabulary)
    per_topic = [[_features(normalise(t), speller) for t in _texts(e)] for e in entries]
    kw_feats = [[_features(normalise(k), speller) for k in e.keywords] for e in entries]
    # IDF over topics: a feature every topic shares (e.g. "申报") tells nothing apart.
    df: Counter[str] = Counter()
    for texts, kws in zip(per_topic, kw_feats, strict=True):
        df.update(set().union(*texts, *kws))
    n = len(entries)
    idf = {f: math.log((n + 1) / (d + 0.5)) for f, d in df.items()}
    index = _Index(ids=tuple(e.id for e in entries), idf=idf, unknown_idf=math.log((n + 1) / 0.5) / 2, speller=speller)
    for t, (texts, kws) in enumerate(zip(per_topic, kw_feats, strict=True)):
        whole: Counter[str] = Counter()
        for feats in texts:
            whole.update(feats)
            vec = _unit(_weighted(feats, idf, index.unknown_idf))
            number = len(index.example_topic)
            index.example_topic.append(t)
            for f, v in vec.items():
                index.example_postings.setdefault(f, []).append((number, v))
        for feats in kws:
            whole.update(feats)
        for f, v in _unit(_weighted(whole, idf, index.unknown_idf)).items():
            index.topic_postings.setdefault(f, []).append((t, v))
    # A keyword found in the question is evidence in proportion to how few topics share it and its length.
    holders: dict[str, set[int]] = {}
    for t, e in enumerate(entries):
        for k in e.keywords:
            holders.setdefault(normalise(k), set()).add(t)
    for k, topics in holders.items():
        if not k.strip():
            continue
        strength = min(len(k.replace(" ", "")), 4) / 4 / len(topics)
        index.keywords[k] = [(t, strength) for t in topics]
    if index.keywords:
        index.keyword_re = re.compile("|".join(re.escape(k) for k in sorted(index.keywords, key=len, reverse=True)))
    index.home = tuple(p for p in _PROVINCES if p[0] in campaign.centre or p[0] in campaign.title)
    index.elsewhere_names = {name: zh for zh, en in _PROVINCES if (zh, en) not in index.home for name in (zh, en)}
    index.elsewhere = re.compile(
        "|".join(rf"\b{re.escape(n)}\b" if n.isascii() else re.escape(n) for n in index.elsewhere_names)
    )
    index.years = frozenset({campaign.year, campaign.previous_year})
    own = [normalise(campaign.centre), normalise(campaign.centre_en)]
    own += [f"{zh}{suffix}" for zh, _ in index.home for suffix in ("省", "")]
    pattern = "|".join(re.escape(o) for o in sorted(own, key=len, reverse=True))
    pattern += "".join(rf"|\b{re.escape(en)}\b" for _, en in index.home)
    index.own_names = re.compile(pattern)
    return index


_CACHE: dict[int, tuple[weakref.ref[Campaign], _Index]] = {}


def index_for(campaign: Campaign) -> _Index:
    """The campaign's index, built on first use. Keyed by the campaign object itself (a reloaded or edited
    campaign is a new object and gets its own index); dropped when the campaign is."""
    key = id(campaign)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is campaign:
        return hit[1]
    built = _build(campaign)
    _CACHE[key] = (weakref.ref(campaign, lambda _ref, key=key: _CACHE.pop(key, None)), built)
    return built


# -- scope ------------------------------------------------------------------------------------------------
# Provincial-level divisions (Chinese name, English name). The campaign's own province is found in its
# centre's name; every other one is out of scope.
_PROVINCES = (
    ("北京", "beijing"), ("天津", "tianjin"), ("河北", "hebei"), ("山西", "shanxi"), ("内蒙古", "inner mongolia"),
    ("辽宁", "liaoning"), ("吉林", "jilin"), ("黑龙江", "heilongjiang"), ("上海", "shanghai"), ("江苏", "jiangsu"),
    ("浙江", "zhejiang"), ("安徽", "anhui"), ("福建", "fujian"), ("江西", "jiangxi"), ("山东", "shandong"),
    ("河南", "henan"), ("湖北", "hubei"), ("湖南", "hunan"), ("广东", "guangdong"), ("广西", "guangxi"),
    ("海南", "hainan"), ("重庆", "chongqing"), ("四川", "sichuan"), ("贵州", "guizhou"), ("云南", "yunnan"),
    ("西藏", "tibet"), ("陕西", "shaanxi"), ("甘肃", "gansu"), ("青海", "qinghai"), ("宁夏", "ningxia"),
    ("新疆", "xinjiang"), ("台湾", "taiwan"), ("香港", "hong kong"), ("澳门", "macau"),
)  # fmt: skip
_OTHER_SCHEMES = (
    "国家临检", "国家卫健委临检", "卫健委临检中心", "部临检", "卫生部临检", "外省",
    "nccl", "national centre", "national center",
)  # fmt: skip
# "2026", "2026年", and the short "26年" (but not durations: "10年了", "20年前", "5年以上").
_YEAR_RE = re.compile(r"(?<![\d.])(20\d{2})(?!\d)|(?<![\d.])(\d{2})\s*年(?![\d了前后以内多来左])")
_NEXT_YEAR = ("明年", "后年", "下一年", "下年度", "next year", "following year")
# A year next to these is about a document's validity, not another year's registration.
_VALIDITY = ("许可证", "执照", "有效期", "到期", "过期", "licence", "expire", "valid")


def _scope(norm: str, index: _Index) -> str | None:
    # Another province is out of scope unless the question names this one too ("河南和湖北一样吗").
    if index.elsewhere is not None and not any(zh in norm or en in norm for zh, en in index.home):
        found = index.elsewhere.search(norm)
        if found is not None:
            return f"province:{index.elsewhere_names[found.group(0)]}"
    if any(s in norm for s in _OTHER_SCHEMES):
        return "scheme"
    if any(v in norm for v in _VALIDITY):
        return None
    for m in _YEAR_RE.finditer(norm):
        year = int(m.group(1)) if m.group(1) else 2000 + int(m.group(2))
        if m.group(2) and abs(year - max(index.years)) > 5:
            continue  # "80年代", "12年": not a registration year
        if year not in index.years:
            return f"year:{year}"
    if any(w in norm for w in _NEXT_YEAR):
        return "year:next"
    return None


# -- matching ---------------------------------------------------------------------------------------------
def rank(campaign: Campaign, text: str) -> list[tuple[float, str]]:
    """Every topic with its score (0..1), best first."""
    index = index_for(campaign)
    norm = normalise(text)
    if index.own_names is not None:
        norm = index.own_names.sub(" ", norm)
    q = _weighted(_features(norm, index.speller), index.idf, index.unknown_idf)
    n_topics = len(index.ids)
    if not q:
        return []
    qnorm = math.sqrt(sum(v * v for v in q.values()))
    best_example = [0.0] * n_topics
    dots: dict[int, float] = {}
    for f, qv in q.items():
        for number, v in index.example_postings.get(f, ()):
            dots[number] = dots.get(number, 0.0) + qv * v
    for number, dot in dots.items():
        t = index.example_topic[number]
        best_example[t] = max(best_example[t], dot / qnorm)
    whole = [0.0] * n_topics
    for f, qv in q.items():
        for t, v in index.topic_postings.get(f, ()):
            whole[t] += qv * v / qnorm
    keyword = [0.0] * n_topics
    if index.keyword_re is not None:
        for k in set(index.keyword_re.findall(norm)):
            for t, strength in index.keywords[k]:
                keyword[t] += strength
    scores = [
        _W_EXAMPLE * best_example[t] + _W_TOPIC * whole[t] + _W_KEYWORD * (1 - math.exp(-2 * keyword[t]))
        for t in range(n_topics)
    ]
    return sorted(((s, index.ids[t]) for t, s in enumerate(scores)), key=lambda p: -p[0])


def match(campaign: Campaign, text: str) -> Match:
    index = index_for(campaign)
    scope = _scope(normalise(text), index)
    if scope is not None:
        return Match(None, (), (), scope)
    ranked = [p for p in rank(campaign, text) if p[0] > 0]
    if not ranked or ranked[0][0] < UNSURE:
        return Match(None, ())
    top = ranked[:3]
    ids = tuple(i for _, i in top)
    scores = tuple(round(s, 4) for s, _ in top)
    best, second = ranked[0][0], ranked[1][0] if len(ranked) > 1 else 0.0
    # A single character or two is too little to answer on, however well it scores.
    clear = (best >= CONFIDENT and best - second >= MARGIN) or (best >= CONFIDENT_ALONE and best >= DOMINANCE * second)
    if clear and meaningful_length(text) >= 2:
        return Match(ranked[0][1], ids, scores)
    return Match(None, ids, scores)
