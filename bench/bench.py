"""Benchmark of the pipeline (``make bench``). Not a test: it prints figures, it asserts nothing.

1. Builds (once, deterministically) a corpus of bulletins, ``--mb`` MB of UTF-8 text
   (default 56), under ``.cache/bench/``: documents written from templates of this
   file with random figures and places, mixed with paragraphs of the seeds and of
   ``tests/bulletins``; a manifest gives publication dates.
2. Runs ``bulletin extract`` on it with one worker and with all cores (end to end,
   from files to tables, in a subprocess): characters per second, speed-up, peak RSS
   of the whole process tree (sampled; forked workers share pages, so the sum
   over-counts) and peak PSS, which counts shared pages once.
3. Times cold single-bulletin runs (``bulletin extract seeds/<one>.txt`` in a fresh
   process).
4. Times each stage over a sample, on the path ``bulletin extract`` takes: reading,
   the stages of :func:`pipeline.api.extract_document`, table rows, Parquet writing.
5. Times one document of each of a few sizes (``--sizes``, default 10 kB to 5 MB) made
   of the corpus's bulletins: characters per second by size, which stays flat when the
   work per document is linear in its length.
6. Times JioNLP (``extract_money`` and ``extract_time``) over a sample of the same
   text for a few seconds each and extrapolates per character; prints our speed
   relative to it.

``--against REV`` does only this instead: ``bulletin extract`` over the corpus, one worker,
end to end, by this tree and by the commit REV (its files from ``git archive``), the two
back to back on each of ``--slices`` slices of the corpus, for ``--rounds`` passes; it prints
CPU and wall time per round and the ratio of the sums (how a change moved the speed, measured
in one run against the main before it).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"
BIN = Path(sys.executable).parent
CORPUS_VERSION = 2
NUMBER_SENTENCES = 0.3  # share of template sentences that carry figures
DOCS_PER_FOLDER = 200

PLACES = [
    ("湖北省", "武汉市", "江岸区"), ("湖北省", "黄冈市", "黄州区"), ("广东省", "深圳市", "南山区"), ("广东省", "广州市", "越秀区"),
    ("四川省", "成都市", "武侯区"), ("浙江省", "杭州市", "西湖区"), ("山西省", "吕梁市", "柳林县"), ("河北省", "石家庄市", "藁城区"),
    ("上海市", "上海市", "浦东新区"), ("北京市", "北京市", "丰台区"), ("海南省", "三亚市", "天涯区"), ("湖南省", "邵阳市", "隆回县"),
    ("江苏省", "南京市", "鼓楼区"), ("山东省", "青岛市", "黄岛区"), ("河南省", "郑州市", "金水区"), ("吉林省", "长春市", "朝阳区"),
]
CN_DIGITS = "一二三四五六七八九"
UNITS_PEOPLE = ["名", "人", "位"]

SENTENCES = [
    "{date}0时至24时，{city}新增本地确诊病例{n1}例、无症状感染者{n2}例，均在隔离管控中发现。",
    "截至{date}24时，{province}累计报告确诊病例{n3}例，其中治愈出院{n2}例，在院治疗{n1}例。",
    "{county}共设置交通检查卡点{n1}个，派出工作人员{n2}{people}，累计检查车辆{n4}台次、人员{n5}人次。",
    "全县已投入疫情防控资金{money}万元，发放口罩{n3}万只、消毒液{n2}吨、防护服{n4}套。",
    "{county}组织党员志愿者{n3}余名，深入{n1}个村（社区）开展宣传，张贴标语{n4}张，发放明白纸{n5}份。",
    "全市{n2}个乡镇（街道）、{n3}个村（社区）实行网格化管理，每个网格配备网格员{cn}名。",
    "当天共完成核酸检测{n5}人次，检测结果均为阴性，累计采样{wan}万人次。",
    "{city}第{cn}批{n2}名医护人员今天出发驰援武汉，其中医生{n1}名、护士{n3}名。",
    "省财政下达专项资金{money}亿元，支持{n1}家定点医院改造{n2}张床位。",
    "{county}{n1}家企业有序复工复产，复工率达到{pct}%，返岗员工{n4}人。",
    "共排查来自重点地区人员{n4}人，集中隔离医学观察{n2}人，居家隔离{n3}人。",
    "疫情发生以来，全区{n3}名社区工作者坚守一线，走访群众{n5}户。",
    "{date}，{county}召开疫情防控工作调度会，部署下一阶段“三个到位”工作。",
    "咨询电话：{phone}。24小时值班热线12345全天候接听。",
    "一是加强组织领导，二是严格落实联防联控措施，三是做好物资保障。",
    "患者{n1}，男，{age}岁，居住在{county}某小区{n1}号楼，{month}月{day}日出现发热症状。",
    "{city}已建成方舱医院{n1}座，可提供床位{wan}万张，目前收治患者{n4}人。",
    "各级干部下沉社区，实行“一户一策”，确保群众生活物资供应，日均配送蔬菜{n2}吨。",
]
FILLER = [
    "各级各部门要坚决贯彻落实党中央决策部署，坚定信心、同舟共济、科学防治、精准施策。",
    "广大党员干部冲锋在前，用实际行动守护人民群众生命安全和身体健康。",
    "会议强调，要毫不放松抓好常态化疫情防控，统筹推进经济社会发展。",
    "请广大市民朋友继续做好个人防护，戴口罩、勤洗手、常通风，非必要不聚集。",
    "志愿者们放弃休息时间，协助社区做好体温检测、信息登记和宣传引导工作。",
    "{county}坚持把人民群众生命安全和身体健康放在第一位，把疫情防控作为当前最重要的工作来抓。",
    "在{city}某小区门口，社区工作人员正在为进出居民测量体温、查验通行证，并提醒大家做好防护。",
    "连日来，{county}各乡镇干部群众闻令而动，在村口路口设卡值守，织密织牢疫情防控网。",
    "医护人员夜以继日奋战在救治一线，不少人连续多日没有回家，脸上留下了深深的口罩勒痕。",
    "商超、农贸市场等人员密集场所严格落实通风消毒、限流等措施，保障群众基本生活需要。",
    "下一步，{city}将继续压实属地、部门、单位、个人“四方责任”，做到早发现、早报告、早隔离、早治疗。",
    "据了解，当地还开通了心理援助热线，为隔离人员和一线工作人员提供心理疏导服务。",
    "{province}要求各地统筹做好疫情防控和春耕生产，确保不误农时、不误农事。",
    "他说，只要大家齐心协力、守望相助，就一定能够打赢这场疫情防控阻击战。",
    "学校延期开学期间，各地组织开展线上教学，做到停课不停教、停课不停学。",
]
HEADLINES = [
    "{city}新冠肺炎疫情防控工作情况通报", "{county}全力以赴抓好疫情防控", "众志成城 共克时艰——{city}抗疫纪实",
    "{province}卫生健康委员会关于新型冠状病毒肺炎疫情情况的通报", "{county}：党旗在防控一线高高飘扬",
]


def _cn(n: int) -> str:
    if n < 10:
        return CN_DIGITS[n - 1] if n else "零"
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens - 1]) + "十" + (CN_DIGITS[ones - 1] if ones else "")


def _fill(template: str, rnd: random.Random, place, date: dt.date) -> str:
    province, city, county = place
    return template.format(
        province=province, city=city, county=county, date=f"{date.month}月{date.day}日", month=date.month, day=date.day,
        n1=rnd.randint(1, 60), n2=rnd.randint(10, 900), n3=rnd.randint(100, 9000), n4=rnd.randint(1000, 90000),
        n5=rnd.randint(10000, 900000), cn=_cn(rnd.randint(1, 30)), money=round(rnd.uniform(1, 500), 1),
        wan=round(rnd.uniform(1, 99), 1), pct=round(rnd.uniform(50, 99.9), 1), people=rnd.choice(UNITS_PEOPLE),
        age=rnd.randint(18, 90), phone=f"0{rnd.randint(10, 999)}-{rnd.randint(1000000, 99999999)}",
    )


def _real_paragraphs() -> list[str]:
    out = []
    for p in sorted(ROOT.glob("seeds/*.txt")):
        out += [line.strip() for line in p.read_text(encoding="utf-8").splitlines() if len(line.strip()) >= 20]
    return out


def build_corpus(mb: float) -> Path:
    """The corpus folder (docs/ and manifest.csv), built once per size and version."""
    folder = CACHE / f"corpus-{mb:g}mb-v{CORPUS_VERSION}"
    done = folder / "DONE"
    if done.exists():
        return folder
    rnd = random.Random(20200128)
    real = _real_paragraphs()
    tmp = Path(tempfile.mkdtemp(prefix=".corpus-", dir=CACHE if CACHE.exists() else _mkdir(CACHE)))
    target = int(mb * 1024 * 1024)
    total, k = 0, 0
    rows = []
    while total < target:
        place = rnd.choice(PLACES)
        date = dt.date(2020, 1, 20) + dt.timedelta(days=rnd.randint(0, 1000))
        paras = [_fill(rnd.choice(HEADLINES), rnd, place, date), f"（记者 {rnd.choice('王李张刘陈杨')}{rnd.choice('明华强伟静敏')}）"]
        for _ in range(rnd.randint(4, 14)):
            if rnd.random() < 0.35:
                paras.append(rnd.choice(real))
            else:  # about as many numbers per character as the seeds and the dev bulletins
                n = rnd.randint(2, 5)
                paras.append("".join(_fill(rnd.choice(SENTENCES if rnd.random() < NUMBER_SENTENCES else FILLER), rnd, place, date) for _ in range(n)))
        text = "\n".join(paras) + "\n"
        sub = tmp / "docs" / f"{k // DOCS_PER_FOLDER:04d}"
        sub.mkdir(parents=True, exist_ok=True)
        name = f"b{k:06d}_{date:%Y%m%d}.txt"
        data = text.encode("utf-8")
        (sub / name).write_bytes(data)
        rows.append((f"docs/{sub.name}/{name}", date.isoformat()))
        total += len(data)
        k += 1
    with open(tmp / "manifest.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "published"])
        w.writerows(rows)
    (tmp / "DONE").write_text(json.dumps({"docs": k, "bytes": total}), encoding="utf-8")
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return folder


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


# --------------------------------------------------------------------------


def _pss(pid: int) -> int | None:
    """Proportional set size in bytes (pages shared by forked workers split between
    them), from Linux's /proc/PID/smaps_rollup; None elsewhere."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class TreeRSS:
    """Peaks of the summed RSS and PSS of a process and its descendants, sampled every
    0.1 s. Forked workers share the parent's pages (the gazetteer index): the RSS sum
    counts them once per process, the PSS sum once in all."""

    def __init__(self, pid: int):
        import psutil

        self.proc = psutil.Process(pid)
        self.peak_total = 0
        self.peak_one = 0
        self.peak_pss: int | None = None
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                rss, pss = [], []
                for p in procs:
                    try:
                        rss.append(p.memory_info().rss)
                        pss.append(_pss(p.pid))
                    except psutil.Error:
                        pass
                self.peak_total = max(self.peak_total, sum(rss))
                if pss and None not in pss:
                    self.peak_pss = max(self.peak_pss or 0, sum(pss))
                self.peak_one = max(self.peak_one, max(rss, default=0))
            except psutil.Error:
                pass
            self._stop.wait(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._t.join()


def run_cli(args: list[str]) -> tuple[float, str, TreeRSS]:
    t0 = time.perf_counter()
    p = subprocess.Popen([str(BIN / "bulletin"), "extract", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rss = TreeRSS(p.pid)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    rss.stop()
    if p.returncode not in (0, 2) or " claims from " not in err:
        raise SystemExit(f"bulletin extract {' '.join(args)} failed ({p.returncode}):\n{err}")
    return wall, err.strip().splitlines()[-1] if err.strip() else "", rss


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.0f} MB"


def stage_breakdown(docs: list[Path], manifest_path: Path) -> tuple[dict[str, float], int]:
    """Seconds per stage over ``docs``, on the path ``bulletin extract`` takes on one
    worker: read and decode, the stages of :func:`pipeline.api.extract_document`, the
    chunk's rows as Arrow tables (:func:`pipeline.batch.runner.process_chunk`), and writing
    them as Parquet files."""
    import pyarrow.parquet as pq

    from pipeline import api
    from pipeline.manifest import load_manifest
    from pipeline.batch.runner import Chunk, DocTask, process_chunk

    man = load_manifest(manifest_path)
    tasks = [DocTask(i, str(p), api.document_meta(p, man), 50 * 1024 * 1024, p.stat().st_size) for i, p in enumerate(docs)]
    process_chunk(Chunk(0, tasks[:1], jsonl=True))  # warm caches and imports
    timings: dict[str, float] = {}
    chars = 0
    with tempfile.TemporaryDirectory() as tmp:
        for b in range(0, len(tasks), 100):
            result = process_chunk(Chunk(b // 100, tuple(tasks[b: b + 100]), timings=True, jsonl=True))
            for k, v in result.timings.items():
                timings[k] = timings.get(k, 0.0) + v
            chars += sum(d.n_chars for d in result.docs)
            t0 = time.perf_counter()
            for name, table in result.tables.items():
                pq.write_table(table, Path(tmp) / f"{name}-{b}.parquet")
            Path(tmp, f"claims-{b}.jsonl").write_bytes(result.jsonl)
            timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t0
    return timings, chars


def _size_arg(text: str) -> int:
    """``10k``, ``1m``, ``5m`` (bytes of UTF-8 text)."""
    scale = {"k": 1000, "m": 1000 * 1000}.get(text[-1].lower(), 1)
    return int(float(text[:-1] if text[-1].isalpha() else text) * scale)


def by_document_size(corpus: Path, sizes: list[int]) -> list[tuple[int, int, float, float, dict[str, float]]]:
    """One document of each size (bytes), made of the corpus's bulletins one after another,
    extracted on the path ``bulletin extract`` takes on one worker (reading, stages, rows):
    (size, characters, wall seconds, CPU seconds, seconds per stage) each. Per-character
    time that stays flat from the smallest to the largest means the work per document is
    linear.

    Each document is timed in a fresh process of its own (warmed up on the seeds and on the
    last 20 bulletins of the corpus, which no document here is made of, so that the patterns
    compiled lazily and the phrase caches are those of a running batch; the best of two runs
    below 2 MB), so that every size starts from the same state: timed one after the
    other in one process, a document inherited the heap and the phrase caches its
    predecessors left (the small ones ran with caches the bench had filled, the 5 MB one on
    a heap grown by all of them), which made the ratio the process's history, not the
    pipeline's."""
    folder = CACHE / f"sizes-v{CORPUS_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    docs = itertools.cycle(sorted((corpus / "docs").rglob("*.txt")))  # (a small corpus repeats)
    text = ""
    out = []
    for size in sorted(sizes):
        while len(text.encode("utf-8")) < size:
            text += next(docs).read_text(encoding="utf-8")
        doc = folder / f"doc-{size}.txt"
        if not doc.exists():
            doc.write_bytes(text.encode("utf-8")[:size].decode("utf-8", "ignore").encode("utf-8"))
        runs = []
        for _ in range(2 if size < 2_000_000 else 1):
            got = subprocess.run([sys.executable, __file__, "--time-document", str(doc), "--warm-with", str(corpus / "docs")],
                                 check=True, capture_output=True, text=True, cwd=ROOT)
            runs.append(json.loads(got.stdout.strip().splitlines()[-1]))
        best = min(runs, key=lambda r: r["cpu"])
        out.append((size, best["chars"], best["wall"], best["cpu"], best["stages"]))
    return out


def time_document(path: str, warm_with: str | None) -> None:
    """``--time-document``: in this fresh process, warm up on the seeds and the last 20
    bulletins of ``warm_with``, then extract ``path`` once as one worker would; prints its
    characters, times and stage times as JSON."""
    from pipeline.batch.runner import Chunk, DocTask, process_chunk

    warm = sorted(ROOT.glob("seeds/*.txt")) + (sorted(Path(warm_with).rglob("*.txt"))[-20:] if warm_with else [])
    process_chunk(Chunk(0, tuple(DocTask(i, str(p), _meta(), 1 << 30, 0) for i, p in enumerate(warm))))
    size = Path(path).stat().st_size
    t0, c0 = time.perf_counter(), time.process_time()
    r = process_chunk(Chunk(0, (DocTask(0, path, _meta(), 1 << 30, size),), timings=True, jsonl=True))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"chars": r.docs[0].n_chars, "wall": wall, "cpu": cpu, "stages": r.timings}))


def _meta():
    from pipeline.model import DocumentMeta

    return DocumentMeta(published="2020-06-01")


def time_jionlp(texts: list[str], seconds: float) -> dict[str, tuple[float, int, bool]]:
    """name -> (chars per second, chars timed, extrapolated?) for extract_money and extract_time."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        import jionlp as jio
        try:
            fns = {"extract_money": jio.extract_money, "extract_time": jio.extract_time}
        except AttributeError:  # some versions do not export the NER functions at the top level
            from jionlp.algorithm.ner import extract_money, extract_time

            fns = {"extract_money": extract_money, "extract_time": extract_time}
        fns["extract_money"]("共计3.5万元。")
        fns["extract_time"]("2020年1月28日。", time_base=time.time())
    import logging

    logging.disable(logging.CRITICAL)  # JioNLP logs a traceback for each string it cannot parse
    out = {}
    base = time.mktime(dt.date(2020, 6, 1).timetuple())
    for name, fn in fns.items():
        chars, t0 = 0, time.perf_counter()
        done_all = True
        for text in texts:
            if name == "extract_time":
                fn(text, time_base=base)
            else:
                fn(text)
            chars += len(text)
            if time.perf_counter() - t0 > seconds:
                done_all = False
                break
        out[name] = (chars / (time.perf_counter() - t0), chars, not done_all)
    return out


def our_rate(texts: list[str]) -> float:
    from pipeline import api
    from pipeline.lexicon import load_lexicon
    from pipeline.model import Document, DocumentMeta

    lex = load_lexicon()
    docs = [Document(doc_id=f"s{k}", path=f"s{k}.txt", text=t, meta=DocumentMeta(published="2020-06-01")) for k, t in enumerate(texts)]
    api.extract_document(docs[0], lex)
    t0 = time.perf_counter()
    for d in docs:
        api.extract_document(d, lex)
    return sum(len(t) for t in texts) / (time.perf_counter() - t0)


def checkout(rev: str) -> tuple[str, Path]:
    """The commit ``rev`` names in this repository and a copy of its files under
    ``.cache/bench/rev-<commit>/`` (``git archive``: no worktree is registered, nothing is
    fetched; made once)."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                         capture_output=True, text=True).stdout.strip()
    if not sha:
        raise SystemExit(f"bench --against: {rev!r} names no commit of {ROOT}")
    tree = CACHE / f"rev-{sha[:12]}"
    if not (tree / "pipeline" / "__main__.py").is_file():
        tmp = Path(tempfile.mkdtemp(prefix=f"rev-{sha[:12]}-", dir=_mkdir(CACHE)))
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", sha], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        shutil.rmtree(tree, ignore_errors=True)
        tmp.rename(tree)
    return sha, tree


def _run_tree(tree: Path, args: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (the child's user + system) and the summary line of
    ``python -m pipeline extract ARGS`` run from the pipeline in ``tree``."""
    import resource

    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # (run from the tree: the working directory comes first on the module path)
    p = subprocess.run([sys.executable, "-m", "pipeline", "extract", *args], cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 2) or " claims from " not in p.stderr:
        raise SystemExit(f"{tree}: extract {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.stderr.strip().splitlines()[-1]


def against(rev: str, corpus: Path, rounds: int, slices: int = 10) -> None:
    """``--against REV``: ``bulletin extract`` over the corpus, one worker, end to end, by this
    tree and by the commit REV. The corpus is cut into ``slices`` runs of its folders, and the
    two trees extract each slice back to back (which goes first alternates), so that the slow
    drifts of a shared machine (a fifth either way over minutes, here) fall on both alike; a
    round is one pass over the corpus. Prints each round's CPU and wall seconds per tree and
    the ratio of their sums. Both run with this environment's Python and packages."""
    sha, old = checkout(rev)
    label = f"{rev} ({sha[:9]})" if not sha.startswith(rev) else sha[:9]
    seed = sorted(ROOT.glob("seeds/*.txt"))[0]
    folders = sorted(p for p in (corpus / "docs").iterdir() if p.is_dir()) or [corpus / "docs"]
    slices = max(1, min(slices, len(folders)))
    cuts = [folders[len(folders) * k // slices: len(folders) * (k + 1) // slices] for k in range(slices)]
    trees = [("this tree", ROOT), (label, old)]
    totals = {name: [0.0, 0.0] for name, _ in trees}
    print(f"against {label}: bulletin extract over the corpus, one worker, end to end; {rounds} rounds of "
          f"{slices} slices, the two trees back to back on each")
    with tempfile.TemporaryDirectory() as tmp:
        for _, tree in trees:  # (each tree's caches and lazy loads, before the timed runs)
            _run_tree(tree, [str(seed), "-o", str(Path(tmp) / "warm"), "--quiet"])
            shutil.rmtree(Path(tmp) / "warm")
        for r in range(rounds):
            spent = {name: [0.0, 0.0] for name, _ in trees}
            for k, cut in enumerate(cuts):
                for name, tree in trees if (r + k) % 2 == 0 else trees[::-1]:
                    out = Path(tmp) / "out"
                    wall, cpu, _ = _run_tree(tree, [*map(str, cut), "--manifest", str(corpus / "manifest.csv"),
                                                    "--workers", "1", "--quiet", "-o", str(out)])
                    shutil.rmtree(out, ignore_errors=True)
                    spent[name][0] += cpu
                    spent[name][1] += wall
            (a_cpu, a_wall), (b_cpu, b_wall) = spent["this tree"], spent[label]
            for name in spent:
                totals[name][0] += spent[name][0]
                totals[name][1] += spent[name][1]
            print(f"    round {r + 1}: this tree {a_cpu:6.1f} s CPU ({a_wall:6.1f} s wall), "
                  f"{label} {b_cpu:6.1f} s CPU ({b_wall:6.1f} s wall) -> x{a_cpu / b_cpu:.3f}")
    (a_cpu, a_wall), (b_cpu, b_wall) = totals["this tree"], totals[label]
    print(f"all rounds: this tree {a_cpu:.1f} s CPU, {label} {b_cpu:.1f} s CPU"
          f"\n    -> this tree takes x{a_cpu / b_cpu:.3f} the CPU time (x{a_wall / b_wall:.3f} the wall time) of {label}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=56, help="corpus size in MB of UTF-8 text (at least 50 for the reported figures)")
    ap.add_argument("--workers", type=int, default=None, help="workers of the parallel run (default: all cores)")
    ap.add_argument("--sample-mb", type=float, default=2.0, help="text for the per-stage breakdown")
    ap.add_argument("--jionlp-seconds", type=float, default=20.0, help="time budget per JioNLP function")
    ap.add_argument("--skip-jionlp", action="store_true")
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--sizes", default="10k,100k,1m,5m", help="document sizes for the time per character by size ('' to skip)")
    ap.add_argument("--against", metavar="REV", help="only compare this tree with the commit REV (one worker, end to end, taking turns)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of --against (each a pass over the corpus)")
    ap.add_argument("--slices", type=int, default=10, help="slices of the corpus in a round of --against")
    ap.add_argument("--time-document", metavar="PATH", help=argparse.SUPPRESS)  # (by_document_size's child process)
    ap.add_argument("--warm-with", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.time_document:
        return time_document(args.time_document, args.warm_with)

    from pipeline.batch.progress import human_rate
    from pipeline.batch.runner import default_workers

    workers = args.workers or default_workers()
    print(f"bench: python {sys.version.split()[0]}, {default_workers()} cores, pipeline at {ROOT}")
    t0 = time.perf_counter()
    corpus = build_corpus(args.mb)
    info = json.loads((corpus / "DONE").read_text(encoding="utf-8"))
    print(f"corpus: {corpus.relative_to(ROOT)}: {info['docs']:,} documents, {_mb(info['bytes'])} ({time.perf_counter() - t0:.1f} s to build or find)")
    if args.against:
        return against(args.against, corpus, args.rounds, args.slices)

    results = {}
    for w in (1, workers):
        out = CACHE / f"out-{w}"
        shutil.rmtree(out, ignore_errors=True)  # the bench's own scratch (tables of older versions are refused)
        wall, line, rss = run_cli([str(corpus / "docs"), "--manifest", str(corpus / "manifest.csv"), "-o", str(out), "--workers", str(w), "--quiet"])
        chars = int(line.split(" chars in ")[0].split("; ")[-1].replace(",", "")) if " chars in " in line else 0
        results[w] = (wall, chars, rss)
        print(f"extract, {w} worker{'s' if w > 1 else ''}: {wall:.1f} s wall, {human_rate(chars / wall)} end to end; peak RSS {_mb(rss.peak_total)} "
              f"(process tree), {_mb(rss.peak_one)} (largest process)"
              + (f", PSS {_mb(rss.peak_pss)} (process tree, shared pages counted once)" if rss.peak_pss is not None else "")
              + f"\n    {line}")
        if w == workers:
            break
    w1, chars1, _ = results[1]
    rate1 = chars1 / w1
    if workers in results and workers != 1:
        wn, charsn, _ = results[workers]
        print(f"speed-up with {workers} workers: {w1 / wn:.2f}x")

    seed = sorted(ROOT.glob("seeds/*.txt"))[0]
    colds = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.cold_runs):
            wall, _, _ = run_cli([str(seed.relative_to(ROOT) if Path.cwd() == ROOT else seed), "-o", tmp, "--quiet"])
            colds.append(wall)
    print(f"cold start, one bulletin ({seed.name}, {seed.stat().st_size:,} bytes): " + ", ".join(f"{c:.2f} s" for c in colds)
          + f" (median {statistics.median(colds):.2f} s)")

    all_docs = sorted((corpus / "docs").rglob("*.txt"))
    sample, size = [], 0
    for p in random.Random(7).sample(all_docs, len(all_docs)):
        if size >= args.sample_mb * 1024 * 1024:
            break
        sample.append(p)
        size += p.stat().st_size
    timings, chars = stage_breakdown(sample, corpus / "manifest.csv")
    total = sum(timings.values())
    print(f"stages over a sample of {len(sample)} documents, {chars:,} chars ({human_rate(chars / total)} in process, one core):")
    for k, v in sorted(timings.items(), key=lambda kv: -kv[1]):
        print(f"    {k:18s} {v / total * 100:5.1f} %   {human_rate(chars / v):>18s}")

    if args.sizes:
        rows = by_document_size(corpus, [_size_arg(x) for x in args.sizes.split(",")])
        print("by document size (one document, one core, each in a fresh process; CPU time beside wall time):")
        base = None
        for size, chars, wall, cpu, stages in rows:
            base = base or cpu / chars
            total = sum(stages.values()) or 1.0
            top = ", ".join(f"{k} {v / total * 100:.0f} %" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])[:3])
            print(f"    {size / 1000:>7,.0f} kB  {chars:>10,} chars  {human_rate(chars / wall):>18s}  cpu {human_rate(chars / cpu):>18s}"
                  f"  time per char x{cpu / chars / base:.2f} of the smallest  ({top})")

    if not args.skip_jionlp:
        texts = [p.read_text(encoding="utf-8") for p in sample]
        ours = our_rate(texts)
        jio = time_jionlp(texts, args.jionlp_seconds)
        both = 1 / sum(1 / r for r, _, _ in jio.values())
        for name, (r, n, extrapolated) in jio.items():
            note = f"timed on {n:,} chars and extrapolated per character" if extrapolated else f"over all {n:,} chars"
            print(f"JioNLP {name}: {human_rate(r)} ({note})")
        print(f"JioNLP money + time over the same text: {human_rate(both)}; ours in process on that text: {human_rate(ours)} "
              f"-> {ours / both:.1f}x; ours end to end on one core: {human_rate(rate1)} -> {rate1 / both:.1f}x")


if __name__ == "__main__":
    main()
