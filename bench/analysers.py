"""Two Japanese morphological analysers, for reading typed text (issue 16): SudachiPy with
`sudachidict-core`, and fugashi (MeCab) with `unidic-lite`. Both ship their dictionary in their
wheels and work offline. Each is measured in a fresh process of its own:

- accuracy: the reading (katakana) of the words the bot's topics use, against readings
  written down here by hand (`GOLD`);
- load: importing and opening the dictionary (wall clock and this process's CPU time);
- memory: the process's resident memory after loading and reading every line, over before,
  split as the kernel counts it: anonymous (this process's own) and file-backed (the
  dictionary's pages, mapped read-only: shared by every process on the machine that maps it,
  and given back under pressure);
- cost per message: reading every line of the dev and held-out sets (CPU time, median of
  five passes).

    .venv/bin/python bench/analysers.py

fugashi and unidic-lite are the bot's (pyproject.toml); SudachiPy and sudachidict-core, and
the older IPAdic (`ipadic`, an sdist only, last released 2020), are installed only to compare
(`pip install sudachipy sudachidict-core ipadic`): a missing one is reported as such.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

GOLD = {
    "解約": "カイヤク", "無料体験": "ムリョウタイケン", "一時停止": "イチジテイシ",
    "問い合わせ": "トイアワセ", "電話": "デンワ", "詐欺": "サギ", "返品": "ヘンピン",
    "荷物": "ニモツ", "届かない": "トドカナイ", "配達": "ハイタツ", "再配達": "サイハイタツ",
    "不在票": "フザイヒョウ", "置き配": "オキハイ", "出品者": "シュッピンシャ", "返金": "ヘンキン",
    "退会": "タイカイ", "閉鎖": "ヘイサ", "削除": "サクジョ", "暗証番号": "アンショウバンゴウ",
    "迷惑メール": "メイワクメール", "偽物": "ニセモノ", "本物": "ホンモノ", "注文": "チュウモン",
    "取り消し": "トリケシ", "会員": "カイイン", "請求": "セイキュウ", "引き落とし": "ヒキオトシ",
    "支払い": "シハライ", "更新": "コウシン", "休止": "キュウシ", "交換": "コウカン",
    "破損": "ハソン", "故障": "コショウ", "修理": "シュウリ", "連絡": "レンラク",
    "窓口": "マドグチ", "相談": "ソウダン", "番号": "バンゴウ", "着信": "チャクシン",
    "怪しい": "アヤシイ", "乗っ取り": "ノットリ", "不正": "フセイ", "中国": "チュウゴク",
    "送り返す": "オクリカエス", "受け取り": "ウケトリ", "壊れた": "コワレタ", "商品": "ショウヒン",
    "解除": "カイジョ", "確認コード": "カクニンコード", "忘れた": "ワスレタ",
    "再設定": "サイセッテイ", "本人確認": "ホンニンカクニン", "期限": "キゲン",
    "料金": "リョウキン", "返品期限": "ヘンピンキゲン", "配送業者": "ハイソウギョウシャ",
    "利用停止": "リヨウテイシ", "二段階認証": "ニダンカイニンショウ",
    "有料": "ユウリョウ", "お試し": "オタメシ", "年会費": "ネンカイヒ", "月会費": "ゲッカイヒ",
}

CHILD = r'''
import json, statistics, sys, time
kind, texts = sys.argv[1], json.loads(sys.stdin.read())
def rss():
    found = {}
    for row in open("/proc/self/status"):
        if row.startswith(("RssAnon", "RssFile")):
            key, value = row.split(":")
            found[key] = int(value.split()[0]) / 1024
    return found
rss0 = rss()
t0, c0 = time.perf_counter(), time.process_time()
if kind == "sudachi":
    from sudachipy import dictionary, tokenizer
    tok = dictionary.Dictionary(dict="core").create()
    mode = tokenizer.Tokenizer.SplitMode.C
    def read(text):
        return "".join(m.reading_form() for m in tok.tokenize(text, mode))
elif kind == "fugashi-ipadic":
    import fugashi, ipadic
    tagger = fugashi.GenericTagger(ipadic.MECAB_ARGS)
    def read(text):
        return "".join(w.feature[7] if len(w.feature) > 7 and w.feature[7] != "*"
                       else w.surface for w in tagger(text))
else:
    import fugashi, unidic_lite
    tagger = fugashi.Tagger("-d " + unidic_lite.DICDIR)
    def read(text):
        return "".join(getattr(w.feature, "kana", None) or w.surface for w in tagger(text))
read("解約")
load, load_cpu = time.perf_counter() - t0, time.process_time() - c0
gold = texts["gold"]
right = sum(read(w) == r for w, r in gold.items())
wrong = {w: read(w) for w, r in gold.items() if read(w) != r}
passes = []
for _ in range(5):
    c = time.process_time()
    for line in texts["lines"]:
        read(line)
    passes.append((time.process_time() - c) / len(texts["lines"]))
rss1 = rss()
print(json.dumps({"analyser": kind, "accuracy": right / len(gold), "wrong": wrong,
                  "load_s": round(load, 3), "load_cpu_s": round(load_cpu, 3),
                  "rss_anon_growth_mb": round(rss1["RssAnon"] - rss0["RssAnon"], 1),
                  "rss_file_growth_mb": round(rss1["RssFile"] - rss0["RssFile"], 1),
                  "per_message_ms": round(statistics.median(passes) * 1000, 4)},
                 ensure_ascii=False))
'''


def lines() -> list[str]:
    """Every line of the sets, and every word the scenarios give (what the bot reads once at
    load)."""
    found: list[str] = []
    for name in ("intents_dev.yaml", "heldout.yaml", "heldout_kana.yaml"):
        data = yaml.safe_load((ROOT / "tests/understanding" / name).read_text("utf-8"))
        found += [line for items in data.values() for line in items]
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        found += _words(yaml.safe_load(path.read_text("utf-8")))
    return found


def _words(data: object) -> list[str]:
    if isinstance(data, dict):
        return [w for key, value in data.items() if key in ("names", "examples", "keywords",
                "words", "title", "menu_label") or isinstance(value, (dict, list))
                for w in _words(value)]
    if isinstance(data, list):
        return [w for item in data for w in _words(item)]
    return [data] if isinstance(data, str) and len(data) < 40 else []


def main() -> None:
    payload = json.dumps({"gold": GOLD, "lines": lines()}, ensure_ascii=False)
    for kind in ("fugashi", "sudachi", "fugashi-ipadic"):
        out = subprocess.run([sys.executable, "-c", CHILD, kind], input=payload,
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(json.dumps({"analyser": kind, "error": out.stderr.strip().splitlines()[-1]}))
            continue
        print(out.stdout.strip())
    print(f"# {len(GOLD)} gold readings, {len(lines())} lines, median of five passes",
          file=sys.stderr)


if __name__ == "__main__":
    main()
