"""Generate the bundled sample datasets used by ``studio demo`` and the tests.

Every text below was written for this project: nothing is downloaded and no
public dataset is copied. The generator is deterministic (fixed seeds, sorted
iteration, fixed output formatting), so running it again reproduces the
committed files byte for byte:

    python studio/resources/samples/make_samples.py            # rewrite files next to this script
    python studio/resources/samples/make_samples.py --out DIR  # write them somewhere else

Outputs
-------
topics.jsonl               {"text", "label"}: short texts, 4 balanced labels
                           (sports, technology, food, weather).
pirate_instructions.jsonl  {"instruction", "input", "output"}: simple tasks,
                           every answer in one pirate style:
                           "Arr! ... matey ... Yo-ho-ho!"
pirate_eval_prompts.txt    8 held-out instructions (never in the training file).
rankings.jsonl             {"text", "label"}: the hard classification sample, 6 balanced
                           labels (a finishing order) that no bag of words can tell apart
                           (ranking_task.py says how).
README.md                  what the files are, with their counts.

Standard library only.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

SEED = 20240611
TOPICS_PER_LABEL = 200
LABELS = ("sports", "technology", "food", "weather")


# The data lives beside this script, split by dataset; the script may run from anywhere.
sys.dont_write_bytecode = True  # no __pycache__ inside the package data
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pirate_facts import *  # noqa: E402,F401,F403
from topic_vocabulary import *  # noqa: E402,F401,F403
from ranking_task import PEOPLE, RANKING_LABELS, RANKING_TEMPLATES, make_rankings  # noqa: E402



def _fill(template: str, rng: random.Random) -> str:
    """Fill every {slot} of a topic template with a random choice."""
    name = rng.choice(NAMES)
    team, team2 = rng.sample(TEAMS, 2)
    dish, dish2 = rng.sample(DISHES, 2)
    app = rng.choice(APPS)
    day = rng.choice(DAYS)
    slots = {
        "name": name, "Name": name[0].upper() + name[1:],
        "city": rng.choice(CITIES), "day": day, "Day": day, "when": rng.choice(WHEN),
        "team": team, "team2": team2, "sport": rng.choice(SPORTS),
        "event": rng.choice(EVENTS), "beat": rng.choice(BEAT), "adj": rng.choice(GAME_ADJ),
        "score": rng.choice(SCORES), "draw": rng.choice(["1-1", "2-2", "0-0", "3-3"]),
        "race": rng.choice(RACES),
        "gadget": rng.choice(GADGETS), "tadj": rng.choice(TECH_ADJ),
        "app": app, "app_cap": app[0].upper() + app[1:],
        "dish": dish, "dish2": dish2, "ingredient": rng.choice(INGREDIENTS),
        "fadj": rng.choice(FOOD_ADJ), "topping": rng.choice(TOPPINGS),
        "spice": rng.choice(SPICES), "bad": rng.choice(BAD_FOOD), "place": rng.choice(PLACES),
        "fat": rng.choice(["butter", "olive oil", "ghee", "a little lard"]),
        "precip": rng.choice(PRECIP), "precip1": rng.choice(PRECIP[:5]), "wadj": rng.choice(WEATHER_ADJ),
        "hot": rng.choice(HOT), "cold": rng.choice(COLD),
    }
    text = template.format(**slots)
    # A sentence that starts with "the Lisbon Lions ..." gets a capital letter.
    return text[0].upper() + text[1:]


def make_topics(seed: int = SEED) -> list[dict]:
    """TOPICS_PER_LABEL unique texts per label, templates used round-robin."""
    rng = random.Random(seed)
    rows: list[dict] = []
    seen: set[str] = set()
    for label in LABELS:
        templates = list(TOPIC_TEMPLATES[label])
        made = 0
        while made < TOPICS_PER_LABEL:
            rng.shuffle(templates)
            progress = False
            for template in templates:
                if made == TOPICS_PER_LABEL:
                    break
                for _ in range(30):  # a few tries to find a filling not used yet
                    text = _fill(template, rng)
                    if text not in seen:
                        seen.add(text)
                        rows.append({"text": text, "label": label})
                        made += 1
                        progress = True
                        break
            if not progress:
                raise RuntimeError(f"templates for {label!r} cannot make {TOPICS_PER_LABEL} texts")
    for row in rows:
        n = len(row["text"].split())
        assert 5 <= n <= 20, (n, row)
    rng.shuffle(rows)
    return rows


# ---------------------------------------------------------------------------
# Pirate instructions
# ---------------------------------------------------------------------------
# Held out of training: the demo shows these before/after fine-tuning. The
# matching facts (Japan, 6 + 7, early, goose, duck, island, studying tip, the
# day after Thursday) are kept out of the training set entirely.
EVAL_PROMPTS = [
    "What is the capital of Japan?",
    "What is 6 plus 7?",
    "What is the opposite of early?",
    "What is the plural of goose?",
    "What sound does a duck make?",
    "How many letters are in the word 'island'?",
    "Give me a tip for staying focused while studying.",
    "What day comes after Thursday?",
]


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def _a(noun: str) -> str:
    """'a cow', 'an owl'."""
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _capitals(rng: random.Random) -> list[tuple[str, str, str]]:
    asks = [
        "What is the capital of {c}?",
        "Which city is the capital of {c}?",
        "Name the capital city of {c}.",
        "Tell me the capital of {c}.",
    ]
    says = [
        "Arr! The capital o' {c} be {city}, matey.",
        "Arr! {city} be the capital o' {c}, matey.",
        "Arr! Set sail for {city}, matey, for that be the capital o' {c}.",
    ]
    out = []
    for country, city in CAPITALS:
        out.append((rng.choice(asks).format(c=country), "",
                    rng.choice(says).format(c=country, city=city)))
    return out


def _arithmetic(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    """Small sums, differences and products. The result is always the LAST number in the answer."""
    kinds = {
        "add": (
            ["What is {a} plus {b}?", "What is {a} + {b}?", "Add {a} and {b}."],
            ["Arr! {a} plus {b} be {r}, matey.",
             "Arr! Add {a} and {b} and ye get {r}, matey."],
        ),
        "sub": (
            ["What is {a} minus {b}?", "What is {a} - {b}?", "Subtract {b} from {a}."],
            ["Arr! {a} minus {b} be {r}, matey.",
             "Arr! Take {b} from {a} and ye be left with {r}, matey."],
        ),
        "mul": (
            ["What is {a} times {b}?", "What is {a} x {b}?", "Multiply {a} by {b}."],
            ["Arr! {a} times {b} be {r}, matey.",
             "Arr! {a} lots o' {b} make {r}, matey."],
        ),
    }
    out, seen = [], set(EVAL_PROMPTS)
    order = ["add", "sub", "mul"]
    while len(out) < n:
        kind = order[len(out) % 3]
        asks, says = kinds[kind]
        if kind == "add":
            a, b = rng.randint(1, 20), rng.randint(1, 20)
            if {a, b} == {6, 7}:
                continue  # held out for the demo
            r = a + b
        elif kind == "sub":
            a, b = rng.randint(2, 30), rng.randint(1, 20)
            if b >= a:
                continue
            r = a - b
        else:
            a, b = rng.randint(2, 10), rng.randint(2, 10)
            r = a * b
        ask = rng.choice(asks).format(a=a, b=b)
        if ask in seen:
            continue
        seen.add(ask)
        out.append((ask, "", rng.choice(says).format(a=a, b=b, r=r)))
    return out


def _opposites(rng: random.Random) -> list[tuple[str, str, str]]:
    asks = ["What is the opposite of {w}?", "Give me the opposite of '{w}'.", "What word means the opposite of {w}?"]
    says = ["Arr! The opposite o' {w} be {o}, matey.", "Arr! {O} be the opposite o' {w}, matey."]
    return [(rng.choice(asks).format(w=w), "", rng.choice(says).format(w=w, o=o, O=_cap(o))) for w, o in OPPOSITES]


def _plurals(rng: random.Random) -> list[tuple[str, str, str]]:
    asks = ["What is the plural of {w}?", "What is the plural of the word '{w}'?", "Give me the plural of '{w}'."]
    says = ["Arr! One {w}, two {p}, matey.", "Arr! The plural o' {w} be {p}, matey."]
    return [(rng.choice(asks).format(w=w), "", rng.choice(says).format(w=w, p=p)) for w, p in PLURALS]


def _animal_sounds(rng: random.Random) -> list[tuple[str, str, str]]:
    asks = ["What sound does {a} make?", "What noise does {a} make?", "How does {a} sound?"]
    says = ["Arr! {A} goes '{s}', matey.", "Arr! The {a} says '{s}', matey, sure as the tide."]
    return [
        (rng.choice(asks).format(a=_a(a)), "", rng.choice(says).format(a=a, A=_cap(_a(a)), s=s))
        for a, s in ANIMAL_SOUNDS
    ]


def _colours(rng: random.Random) -> list[tuple[str, str, str]]:
    asks = ["What colour is {t}?", "What color is {t}?", "Tell me the colour of {t}."]
    says = ["Arr! {T} be {c}, matey.", "Arr! {T} be as {c} as can be, matey."]
    return [(rng.choice(asks).format(t=t), "", rng.choice(says).format(T=T, c=c)) for t, T, c in COLOURS]


def _definitions(rng: random.Random) -> list[tuple[str, str, str]]:
    asks = ["What does '{w}' mean?", "Define the word '{w}'.", "What is the meaning of '{w}'?", "Explain what a {w} is."]
    input_asks = ["Define this word.", "What does this word mean?", "Explain this word simply."]
    out = []
    for i, (w, subject, meaning) in enumerate(DEFINITIONS):
        answer = f"Arr! {subject} be {meaning}, matey."
        if i < len(input_asks):
            out.append((input_asks[i], w, answer))
        else:
            ask = rng.choice(asks)
            if ask.startswith("Explain what a") and not subject.startswith("A "):
                ask = asks[0]  # "Explain what a treasure is" reads badly
            out.append((ask.format(w=w), "", answer))
    return out


def _tips(rng: random.Random) -> list[tuple[str, str, str]]:
    asks = ["Give me a tip for {t}.", "Do you have any advice for {t}?", "What is a good tip for {t}?"]
    return [(rng.choice(asks).format(t=t), "", f"Arr! {tip}") for t, tip in TIPS]


def _upper_case(rng: random.Random) -> list[tuple[str, str, str]]:
    asks = ["Write the word '{w}' in upper case.", "Convert '{w}' to upper case.", "Write '{w}' in capitals."]
    input_asks = [
        "Write this word in upper case.", "Convert this word to capitals.",
        "Shout this word in upper case.", "Turn this word into all capitals.",
        "Rewrite this word in upper case.",
    ]
    says = ["Arr! In upper case it be {U}, matey.", "Arr! {U}! Shouted loud across the deck, matey."]
    out = []
    for i, w in enumerate(WORDS_UPPER):
        answer = rng.choice(says).format(U=w.upper())
        if i < len(input_asks):
            out.append((input_asks[i], w, answer))
        else:
            out.append((rng.choice(asks).format(w=w), "", answer))
    return out


def _letter_counts(rng: random.Random) -> list[tuple[str, str, str]]:
    """The count is always the LAST number in the answer; every instruction says 'letters'."""
    asks = [
        "How many letters are in the word '{w}'?", "Count the letters in '{w}'.",
        "How many letters does '{w}' have?",
    ]
    input_asks = [
        "Count the letters in this word.", "How many letters does this word have?",
        "Tell me the number of letters in this word.", "How long is this word, in letters?",
    ]
    out = []
    for i, w in enumerate(WORDS_COUNT):
        spelt = "-".join(w)
        answer = f"Arr! The word '{w}' be spelt {spelt}, so that be {len(w)} letters, matey."
        if i < len(input_asks):
            out.append((input_asks[i], w, answer))
        else:
            out.append((rng.choice(asks).format(w=w), "", answer))
    return out


def _days_and_months(rng: random.Random) -> list[tuple[str, str, str]]:
    items = []
    for i, d in enumerate(DAYS):
        nxt, prv = DAYS[(i + 1) % 7], DAYS[(i - 1) % 7]
        items.append((f"What day comes after {d}?", f"Arr! The day after {d} be {nxt}, matey."))
        items.append((f"What day comes before {d}?", f"Arr! {prv} be the day before {d}, matey."))
    for i, m in enumerate(MONTHS):
        nxt, prv = MONTHS[(i + 1) % 12], MONTHS[(i - 1) % 12]
        items.append((f"What month comes after {m}?", f"Arr! The month after {m} be {nxt}, matey."))
        items.append((f"What month comes before {m}?", f"Arr! {prv} be the month before {m}, matey."))
        items.append((f"What is the {ORDINALS[i]} month of the year?",
                      f"Arr! The {ORDINALS[i]} month o' the year be {m}, matey."))
    items = [(q, "", a) for q, a in items if q not in EVAL_PROMPTS]
    rng.shuffle(items)
    return items[:36]


def make_pirate(seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)
    held_out = {"Japan", "early", "goose", "duck", "island", "staying focused while studying"}
    used = (
        {c for c, _ in CAPITALS} | {w for w, _ in OPPOSITES} | {w for w, _ in PLURALS}
        | {a for a, _ in ANIMAL_SOUNDS} | set(WORDS_COUNT) | {t for t, _ in TIPS}
    )
    assert not held_out & used, held_out & used
    triples = (
        _capitals(rng) + _arithmetic(rng, 50) + _opposites(rng) + _plurals(rng)
        + _animal_sounds(rng) + _colours(rng) + _definitions(rng) + _tips(rng)
        + _upper_case(rng) + _letter_counts(rng) + _days_and_months(rng)
    )
    rows = [{"instruction": q, "input": i, "output": a} for q, i, a in triples]
    instructions = [r["instruction"] for r in rows]
    assert len(set(instructions)) == len(instructions), "duplicate instruction"
    assert not set(instructions) & set(EVAL_PROMPTS), "an eval prompt leaked into training"
    for r in rows:
        out = r["output"]
        assert out.startswith("Arr! ") and "matey" in out and out[-1] in ".!", r
        r["output"] = out + " Yo-ho-ho!"
        assert len(r["output"].split()) <= 30, r
    rng.shuffle(rows)
    return rows


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _readme(topics: list[dict], pirate: list[dict], rankings: list[dict]) -> str:
    per_label = ", ".join(f"{lab} {sum(r['label'] == lab for r in topics)}" for lab in LABELS)
    per_ranking = sum(r["label"] == RANKING_LABELS[0] for r in rankings)
    with_input = sum(bool(r["input"]) for r in pirate)
    return "\n".join([
        "# Sample datasets (written for Fine-tuning Studio; not downloaded or copied from public datasets)",
        f"- `topics.jsonl`: {len(topics)} short texts for sequence classification, one `{{\"text\", \"label\"}}` per line.",
        f"  Labels are balanced: {per_label}. Names, cities and days are shared across labels.",
        f"- `pirate_instructions.jsonl`: {len(pirate)} `{{\"instruction\", \"input\", \"output\"}}` examples ({with_input} use `input`).",
        "  Every output starts with `Arr! `, ends with ` Yo-ho-ho!`, says `matey` and is at most 30 words.",
        "  Tasks: capitals, small arithmetic, opposites, plurals, animal sounds, colours, days/months, upper case, letter counts, definitions, tips.",
        f"- `rankings.jsonl`: {len(rankings)} short texts, the hard classification sample: each reports a contest between "
        f"{', '.join(p.capitalize() for p in PEOPLE)}, labelled with their finishing order (`lena-maya-omar`: Lena first).",
        f"  {len(RANKING_LABELS)} labels, {per_ranking} texts each, {len(RANKING_TEMPLATES)} phrasings; every text names each person once "
        "and its other words do not depend on the label, so only word order tells the label (a bag of words stays at chance).",
        f"- `pirate_eval_prompts.txt`: {len(EVAL_PROMPTS)} held-out instructions (not in the training file) for before/after demos.",
        "- `make_samples.py`: the deterministic generator (standard library, fixed seed) that wrote all of the above.",
        "- Regenerate with `python studio/resources/samples/make_samples.py` (or `--out DIR` to write elsewhere).",
        "- `tests/test_samples.py` checks counts, balance, style, arithmetic, that a bag of words cannot tell the rankings "
        "apart and that regeneration is byte-identical.",
        "",
    ])


def main(out_dir: str | Path | None = None) -> Path:
    out = Path(out_dir) if out_dir is not None else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    topics = make_topics()
    pirate = make_pirate()
    rankings = make_rankings(SEED)
    _write_jsonl(out / "rankings.jsonl", rankings)
    _write_jsonl(out / "topics.jsonl", topics)
    _write_jsonl(out / "pirate_instructions.jsonl", pirate)
    with open(out / "pirate_eval_prompts.txt", "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(EVAL_PROMPTS) + "\n")
    with open(out / "README.md", "w", encoding="utf-8", newline="\n") as f:
        f.write(_readme(topics, pirate, rankings))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="output folder (default: next to this script)")
    args = parser.parse_args()
    print(f"wrote samples to {main(args.out)}")
