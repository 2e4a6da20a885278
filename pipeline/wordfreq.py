"""jieba's tokenizer with its dictionary loaded lazily, shard by shard.

``jieba.Tokenizer.initialize()`` unmarshals the whole prefix dictionary (about
500,000 entries: ~1 s, most of a cold one-bulletin run). The exclusion stage
only tokenises a few short windows per document, which look up words that
start with a handful of characters. So the dictionary is cached once as
shards keyed by first character (in ``$BULLETIN_CACHE`` or
``~/.cache/bulletin-pipeline``, like the gazetteer index), and a shard is
unmarshalled the first time a word starting with its character is looked up.

Segmentations are exactly jieba's: the tokenizer is jieba's own, only its
``FREQ`` mapping (read with ``in``, ``[]`` and ``.get``) loads lazily, and is
shared, read-only, by every tokenizer made here. When the
cache cannot be written or read (a read-only home), jieba initialises the usual
way (its own cache in the temporary folder).
"""
from __future__ import annotations

import marshal
import os
import tempfile
from functools import lru_cache
from pathlib import Path

CACHE_VERSION = 1


class LazyFreq:
    """jieba's prefix dictionary (word -> frequency, 0 for prefixes), one first-character shard at a time.

    Read-only (no ``__setitem__``: ``Tokenizer.add_word`` raises), so tokenizers can share one."""

    __slots__ = ("_loaded", "_shards")

    def __init__(self, shards: dict[str, bytes]):
        self._loaded: dict[str, dict[str, int]] = {}  # first character -> its words, as unmarshalled
        self._shards = shards

    def _shard(self, word: str) -> dict[str, int]:
        ch = word[:1]
        got = self._loaded.get(ch)
        if got is None:
            blob = self._shards.get(ch)
            got = self._loaded[ch] = marshal.loads(blob) if blob is not None else {}
        return got

    def __contains__(self, word: str) -> bool:
        return word in self._shard(word)

    def __getitem__(self, word: str) -> int:
        return self._shard(word)[word]

    def get(self, word: str, default=None):
        return self._shard(word).get(word, default)


def cache_dir() -> Path:
    env = os.environ.get("BULLETIN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "bulletin-pipeline"


def _cache_path(jieba) -> Path:
    dict_file = Path(jieba.__file__).parent / "dict.txt"
    try:
        size = dict_file.stat().st_size
    except OSError:
        size = 0
    return cache_dir() / f"jieba-{jieba.__version__}-{size}-v{CACHE_VERSION}.marshal"


def _build(jieba, path: Path) -> tuple[int, dict[str, bytes]]:
    tok = jieba.Tokenizer()
    with tok.get_dict_file() as f:
        freq, total = tok.gen_pfdict(f)
    by_char: dict[str, dict[str, int]] = {}
    for word, n in freq.items():
        by_char.setdefault(word[:1], {})[word] = n
    shards = {ch: marshal.dumps(d) for ch, d in by_char.items()}
    path.parent.mkdir(parents=True, exist_ok=True)  # OSError on a read-only home: jieba's own way then
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            marshal.dump((total, shards), out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return total, shards


def _load(jieba) -> tuple[int, dict[str, bytes]]:
    path = _cache_path(jieba)
    try:
        with open(path, "rb") as f:
            total, shards = marshal.load(f)
        if isinstance(total, int) and isinstance(shards, dict):
            return total, shards
    except (OSError, ValueError, EOFError, TypeError):
        pass
    return _build(jieba, path)


def _import_jieba():
    """``import jieba``, without the ``pkg_resources`` import it would make (0.1-1 s):
    without it jieba opens its data files with ``open()``, which reads the same bytes."""
    import sys

    if "jieba" in sys.modules:
        return sys.modules["jieba"]
    block = "pkg_resources" not in sys.modules
    if block:
        sys.modules["pkg_resources"] = None  # makes `import pkg_resources` raise ImportError
    try:
        import jieba
    finally:
        if block and "pkg_resources" in sys.modules and sys.modules["pkg_resources"] is None:
            del sys.modules["pkg_resources"]
    return jieba


@lru_cache(maxsize=1)
def _shards() -> tuple[int, dict[str, bytes]] | None:
    """The cached dictionary (read once per process, shared by every tokenizer), or None."""
    try:
        return _load(_import_jieba())
    except Exception:  # anything odd about the cache: jieba's own way
        return None


@lru_cache(maxsize=1)
def _shared_freq() -> LazyFreq | None:
    cached = _shards()
    return LazyFreq(cached[1]) if cached is not None else None


def new_tokenizer():
    """A fresh ``jieba.Tokenizer`` (default dictionary) whose dictionary loads on demand.

    Tokenizers share the read-only dictionary (a shard is unmarshalled once per
    process), not their state: a stage that keeps a private tokenizer cannot change
    another stage's segmentations."""
    jieba = _import_jieba()
    tok = jieba.Tokenizer()
    freq = _shared_freq()
    if freq is None:
        tok.initialize()
        return tok
    tok.FREQ = freq
    tok.total = _shards()[0]
    tok.initialized = True
    return tok


@lru_cache(maxsize=1)
def tokenizer():
    """The shared ``jieba.Tokenizer`` of the exclusion stage (see :func:`new_tokenizer`)."""
    return new_tokenizer()
