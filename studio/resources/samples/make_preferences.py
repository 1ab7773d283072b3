"""Generate the bundled preference sample: the pirate answer preferred over the same answer in plain English.

Each instruction of pirate_instructions.jsonl (written for this project by make_samples.py) becomes one
pair: `chosen` is its pirate answer ("Arr! ... matey ... Yo-ho-ho!"), `rejected` the same facts said
plainly, made by the fixed rewrites below. Both answers are correct, so the pair teaches only the style:
DPO on it should make the model answer like a pirate (bench/preference.py measures that). Deterministic
(no randomness, fixed formatting), so running it again reproduces the committed file byte for byte:

    python studio/resources/samples/make_preferences.py            # rewrite pirate_preferences.jsonl
    python studio/resources/samples/make_preferences.py --out DIR  # write it somewhere else

Standard library only.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = "pirate_instructions.jsonl"
OUTPUT = "pirate_preferences.jsonl"
# Pirate -> plain, applied in order; whole-answer shapes first, then the words.
PLAIN = [
    (r"^Arr! ", ""),
    (r" Yo-ho-ho!$", ""),
    (r"^Set sail for (.+), matey, for that be the capital o' (.+)\.$", r"\1 is the capital of \2."),
    (r"^([A-Z]+)! Shouted loud across the deck, matey\.$", r"\1"),
    (r", matey, sure as the tide", ""),
    (r",? matey", ""),
    (r"\bye be\b", "you are"),
    (r"\bplaces be\b", "places are"),
    (r"\bye\b", "you"),
    (r"\byer\b", "your"),
    (r"\bo'", "of"),
    (r"'em\b", "them"),
    (r"(\w)in'", r"\1ing"),  # somethin', flowin'
    (r"(?<!can )\bbe\b", "is"),
]


def plain(answer: str) -> str:
    """The pirate answer said plainly (the same facts, no 'Arr', 'matey', 'be' or 'Yo-ho-ho')."""
    for pattern, repl in PLAIN:
        answer = re.sub(pattern, repl, answer)
    return answer[0].upper() + answer[1:]


def make_pairs(rows: list[dict]) -> list[dict]:
    """One {prompt, chosen, rejected} pair per instruction row, in the source file's order."""
    pairs = []
    for row in rows:
        prompt = row["instruction"] + ("\n\n" + row["input"] if row.get("input") else "")
        pairs.append({"prompt": prompt, "chosen": row["output"], "rejected": plain(row["output"])})
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into (default: beside this script)")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in (HERE / SOURCE).read_text(encoding="utf-8").splitlines()]
    text = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in make_pairs(rows))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / OUTPUT).write_text(text, encoding="utf-8")
    print(f"wrote {len(rows)} pairs to {args.out / OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
