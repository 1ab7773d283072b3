"""The hard classification sample (rankings.jsonl): who finished first, second and third.

Every text reports one contest between the same three people, Maya, Omar and Lena, and the label
is their finishing order ("lena-maya-omar": Lena first, Maya second, Omar third; 6 labels). Each
text names each person exactly once, and the template and filler words are drawn independently
of the label, so the bag of words of a text says nothing about its label: a unigram classifier
stays at chance. Only word order and the relations ("beat", "lost to", "behind", "slower than",
"did not lose to") tell the order, phrased fifteen ways with the three names in every position.
Data only plus its generator; make_samples.py writes the file. Standard library only.
"""
from __future__ import annotations

import itertools
import random

PEOPLE = ("maya", "omar", "lena")
# Every finishing order of the three people, written first-second-third.
RANKING_LABELS = tuple("-".join(order) for order in itertools.permutations(sorted(PEOPLE)))
RANKINGS_PER_LABEL = 500

# {a} finished first, {b} second, {c} third. Each template names each of them exactly once, so
# name counts carry no signal; they differ in which relation words tie the names together.
RANKING_TEMPLATES = (
    "{a} won {event} {when}, {b} came second and {c} came third.",
    "{when_cap}, {c} came last in {event} and {a} beat {b} to the win.",
    "In {event} {when}, {b} finished behind {a} but ahead of {c}.",
    "{a} took first place in {event} {when}, with {c} in third behind {b}.",
    "{b} beat {c} in {event} {when}, and {a} beat them both.",
    "Nobody beat {a} in {event} {when}, and {c} lost to {b}.",
    "{c} was slower than {b} in {event} {when}, and {a} was the fastest of all.",
    "{a} was faster than {b}, who was faster than {c}, in {event} {when}.",
    "{b} came second in {event} {when}, {c} third and {a} first.",
    "{c} finished last and {a} first in {event} {when}, with {b} in between.",
    "The result of {event} {when}: {a}, then {b}, then {c}.",
    "In {event} {when}, {a} did not lose to anyone, and {c} did not beat {b}.",
    "{c} could not catch {b} in {event} {when}, and nobody caught {a}.",
    "{b} lost to {a} in {event} {when} but beat {c}.",
    "In {event} {when}, {c} trailed {b}, who trailed {a}.",
)
# Filler shared by every label: which contest, and when.
CONTESTS = (
    "the sprint", "the chess final", "the spelling bee", "the bake-off", "the pub quiz",
    "the swim race", "the hill climb", "the darts match", "the karaoke contest", "the rowing race",
    "the maths olympiad", "the cross-country run", "the poetry slam", "the cycling race",
    "the talent show", "the tennis ladder",
)
WHENS = (
    "on monday", "on tuesday", "on friday", "on saturday", "on sunday", "this morning",
    "last night", "yesterday", "last week", "today", "in the rain", "at the school fair",
)


def _fill(template: str, order: tuple[str, str, str], rng: random.Random) -> str:
    """One text: the template with the finishing order and random filler."""
    when = rng.choice(WHENS)
    a, b, c = (name.capitalize() for name in order)
    text = template.format(a=a, b=b, c=c, event=rng.choice(CONTESTS), when=when,
                           when_cap=when[0].upper() + when[1:])
    return text[0].upper() + text[1:]


def make_rankings(seed: int) -> list[dict]:
    """RANKINGS_PER_LABEL unique texts per finishing order, templates used round-robin."""
    rng = random.Random(seed)
    rows: list[dict] = []
    seen: set[str] = set()
    for label in RANKING_LABELS:
        order = tuple(label.split("-"))
        templates = list(RANKING_TEMPLATES)
        made = 0
        while made < RANKINGS_PER_LABEL:
            rng.shuffle(templates)
            for template in templates[: RANKINGS_PER_LABEL - made]:
                for _ in range(50):  # a few tries to find a filling not used yet
                    text = _fill(template, order, rng)
                    if text not in seen:
                        seen.add(text)
                        rows.append({"text": text, "label": label})
                        made += 1
                        break
                else:
                    raise RuntimeError(f"template {template!r} cannot make more texts for {label!r}")
    rng.shuffle(rows)
    return rows
