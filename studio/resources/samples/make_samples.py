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
README.md                  what the files are, with their counts.

Standard library only.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

SEED = 20240611
TOPICS_PER_LABEL = 200
LABELS = ("sports", "technology", "food", "weather")

# ---------------------------------------------------------------------------
# Shared everyday words. They appear in every class, so that no class can be
# told apart just by "there is a name / a city / a weekday in it".
# ---------------------------------------------------------------------------
NAMES = [
    "Maria", "Tom", "Aisha", "Kenji", "Lucas", "Priya", "Sam", "Elena",
    "Omar", "Grace", "Leo", "Nina", "Carlos", "Mei", "Jonas", "Fatima",
    "my brother", "my neighbour", "our coach", "my aunt",
]
CITIES = [
    "Lisbon", "Chicago", "Tokyo", "Nairobi", "Berlin", "Sydney", "Toronto",
    "Mumbai", "Madrid", "Seoul", "Cairo", "Denver", "Oslo", "Lima", "Dublin",
    "Manila", "Glasgow", "Austin",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WHEN = [
    "on Monday", "on Tuesday", "on Friday", "on Saturday", "on Sunday",
    "this morning", "last night", "yesterday", "over the weekend", "today",
]

# --- sports -----------------------------------------------------------------
TEAMS = [
    "the Lisbon Lions", "the Chicago Hawks", "the Denver Thunder", "the Oslo Storm",
    "the Madrid Comets", "the Dublin Rovers", "the Austin Rangers", "the Seoul Tigers",
    "the Sydney Sharks", "the Toronto Wolves", "the Cairo Falcons", "the Glasgow Giants",
    "the Lima Condors", "the Berlin Bears", "our local club", "the home side",
]
SPORTS = [
    "football", "basketball", "tennis", "cricket", "rugby", "hockey", "baseball",
    "volleyball", "handball", "water polo",
]
EVENTS = [
    "final", "semifinal", "derby", "season opener", "cup tie", "championship game",
    "league match", "friendly", "playoff game", "away game",
]
BEAT = ["beat", "thrashed", "edged past", "outplayed", "stunned", "held off"]
GAME_ADJ = ["thrilling", "dull", "tense", "chaotic", "scrappy", "nervy", "one-sided", "famous"]
SCORES = ["2-1", "3-0", "1-0", "4-2", "3-2", "98 to 91", "27 to 20", "5-4"]
RACES = ["marathon", "half marathon", "ten kilometre race", "triathlon", "cycling time trial"]

SPORTS_TEMPLATES = [
    "{team} {beat} {team2} {score} in a {adj} {event}.",
    "{Name} scored twice as {team} won the {event} {when}.",
    "The {sport} coach dropped {name} before the {event} {when}.",
    "Fans in {city} celebrated late into the night after the {event}.",
    "Our goalkeeper made three huge saves in the second half.",
    "{Name} finished the {race} in {city} in a personal best time.",
    "Tickets for the {event} between {team} and {team2} sold out in minutes.",
    "The referee sent off two players during a {adj} {sport} match.",
    "{Name} trains at the {sport} club every {day} before work.",
    "Do you think {team} will make the playoffs this season?",
    "What a {adj} comeback by {team} in the final quarter!",
    "{Name} signed a three-year contract with {team} {when}.",
    "The {sport} tournament in {city} starts on {day} with sixteen teams.",
    "{Name} broke the national record in the two hundred metres freestyle.",
    "I watched the {event} with {name} at a crowded bar in {city}.",
    "The striker missed a penalty in the ninety-first minute.",
    "{team} sacked their manager after five straight defeats.",
    "{Name} served fourteen aces and won the tennis match in straight sets.",
    "Our cricket team needs forty runs from the last five overs.",
    "The cyclists climbed the mountain stage through heavy rain {when}.",
    "{Name} hurt a knee in training and will miss the {event}.",
    "The stadium in {city} was packed for the {event} {when}.",
    "Can {team} defend their title without their star midfielder?",
    "{Name} hit a home run in the bottom of the ninth inning.",
    "Our five-a-side team lost {score} again on {day} night.",
    "The hockey game went to overtime and ended in a shootout.",
    "{Name} won gold in the hundred metres at the championships in {city}.",
    "My kids have {sport} practice after school every {day}.",
    "{team} are top of the league after a {adj} win {when}.",
    "The {sport} season in {city} ends with a {event} on {day}.",
    "{Name} wants to enter the {race} in {city} next spring.",
    "The crowd booed when the referee waved away the penalty appeal.",
    "{team} and {team2} drew {draw} in a {adj} {event}.",
    "Who is the top scorer in the {sport} league this year?",
    "{Name} is the new captain of the {sport} team in {city}.",
    "After a {adj} first half, {team} scored three quick goals.",
]

# --- technology -------------------------------------------------------------
GADGETS = [
    "phone", "laptop", "smartwatch", "tablet", "router", "wireless headphones",
    "e-reader", "drone", "smart speaker", "games console", "graphics card",
    "VR headset", "webcam", "mechanical keyboard", "smart TV", "desktop PC",
]
TECH_ADJ = ["new", "latest", "cheaper", "foldable", "refurbished", "budget", "flagship", "thinner"]
APPS = [
    "the banking app", "the photo editor", "the web browser", "the spreadsheet program",
    "the video call app", "the music app", "the map app", "the password manager",
]
TECH_TEMPLATES = [
    "The {tadj} {gadget} has a brighter screen and a bigger battery.",
    "{Name} spent {day} evening fixing a bug in {app}.",
    "My {gadget} keeps restarting since the latest software update.",
    "A startup in {city} released an open-source language model {when}.",
    "Remember to back up your photos to the cloud before {day}.",
    "The battery on my {gadget} barely lasts until lunch now.",
    "{Name} built a small robot that waters the houseplants.",
    "Is it worth upgrading to the {tadj} {gadget} this year?",
    "The office Wi-Fi in {city} kept dropping out all {day}.",
    "Our team is moving the database to a faster cloud server.",
    "{Name} reset the router and the internet finally came back.",
    "A chip maker in {city} announced a faster processor {when}.",
    "Hackers stole millions of passwords from an online shopping site.",
    "I changed my password after getting a strange login alert.",
    "The {gadget} I ordered arrived with a cracked screen.",
    "{Name} is learning to write Python code in the evenings.",
    "The weather app on my {gadget} crashes every time I open it.",
    "A recipe app now suggests meals from a photo of your fridge.",
    "{Name} plugged in a cheap charger and fried the {gadget}.",
    "The {tadj} {gadget} supports fast charging and automatic updates.",
    "Engineers in {city} tested a self-driving bus {when}.",
    "Our smart thermostat learned the family schedule within a week.",
    "My laptop fan gets loud whenever I join a video call.",
    "The company's servers went down for three hours {when}.",
    "{Name} used {app} to remove the background from a picture.",
    "Virtual reality headsets are getting lighter and cheaper every year.",
    "{app_cap} froze and {name} lost an hour of unsaved work.",
    "Does the {tadj} {gadget} still work with older chargers?",
    "The streaming app froze during the last minutes of the match.",
    "{Name} wrote a script that renames thousands of files in seconds.",
    "Please install the security patch before you log in on {day}.",
    "A {tadj} {gadget} costs less than last year's model in {city}.",
    "The update to {app} added dark mode and offline sync.",
    "{Name} swapped the hard drive for a solid-state drive.",
    "Why does my {gadget} lose its Bluetooth connection so often?",
    "The coding bootcamp in {city} teaches machine learning on weekends.",
]

# --- food -------------------------------------------------------------------
DISHES = [
    "ramen", "paella", "lasagna", "tacos", "chicken curry", "sourdough bread",
    "pancakes", "sushi", "falafel", "dumplings", "mushroom risotto", "chili",
    "apple pie", "pad thai", "porridge", "cheese omelettes", "goulash",
    "biryani", "lentil soup", "banana bread", "fish and chips", "Greek salad",
]
INGREDIENTS = [
    "garlic", "ginger", "fresh basil", "lemon zest", "cinnamon", "butter",
    "chili flakes", "coriander", "smoked paprika", "honey", "black pepper", "parmesan",
]
SPICES = ["cinnamon", "smoked paprika", "black pepper", "chili flakes", "salt", "cumin", "nutmeg", "dried oregano"]
BAD_FOOD = ["bland", "too salty", "greasy", "overcooked", "lukewarm", "burnt"]
TOPPINGS = ["chopped parsley", "black pepper", "chili flakes", "fresh coriander", "sesame seeds", "grated cheese"]
FOOD_ADJ = ["crispy", "spicy", "creamy", "tender", "bland", "salty", "delicious", "smoky", "greasy", "fresh"]
PLACES = ["bakery", "cafe", "food truck", "diner", "noodle bar", "restaurant", "market stall", "canteen"]
FOOD_TEMPLATES = [
    "{Name} cooked {dish} with extra {ingredient} for dinner on {day}.",
    "The {dish} at the new {place} in {city} tasted {fadj}.",
    "Add a pinch of {spice} before you simmer the sauce.",
    "The {dish} here tastes far too {fadj} for me.",
    "Bake the loaf for forty minutes until the crust turns golden.",
    "We had {dish} and {dish2} at a tiny {place} near the station.",
    "My grandmother's {dish} recipe needs {ingredient} and a lot of patience.",
    "{Name} is trying to eat less sugar and more vegetables this month.",
    "The {place} on the corner makes the best {dish} in {city}.",
    "Chop the onions finely and fry them slowly in {fat}.",
    "Is it safe to freeze leftover {dish} for a week?",
    "The soup needs more salt and a squeeze of lemon.",
    "{Name} ordered {dish}, which arrived cold and soggy.",
    "Marinate the chicken overnight with {ingredient} and yogurt.",
    "Brunch on {day}: {dish}, fresh fruit and strong coffee.",
    "A chef in {city} serves a seven-course tasting menu.",
    "Hot chocolate with cinnamon is perfect after a long walk.",
    "We grilled corn and sausages at the barbecue on {day}.",
    "The {dish} tasted so {fadj} that {name} asked for the recipe.",
    "Let the dough rest for an hour before rolling it out.",
    "Stadium hot dogs are overpriced but they still taste great.",
    "{Name} packed {dish} for lunch every day this week.",
    "The market in {city} sells ripe mangoes and bunches of fresh herbs.",
    "Does the {dish} on the menu contain nuts, eggs or dairy?",
    "Sprinkle {topping} over the {dish} just before serving.",
    "{Name} burnt the rice again while answering the phone.",
    "Our {day} pizza night ended with a {fadj} pepperoni pizza.",
    "The {place} in {city} ran out of {dish} by noon on {day}.",
    "I prefer my eggs scrambled with chives and a little cream.",
    "Slow-cooked beef stew tastes even better the next day.",
    "{Name} is opening a small {place} that sells {dish} in {city}.",
    "Whisk the eggs with sugar until the mixture turns pale.",
    "The {dish} tasted {bad}, but the dessert was wonderful.",
    "How long should I roast a chicken with {ingredient}?",
    "Fresh strawberries and cream are the taste of early summer.",
    "We tried {dish} from a street vendor in {city} {when}.",
]

# --- weather ----------------------------------------------------------------
PRECIP = ["rain", "snow", "hail", "sleet", "drizzle", "thunderstorms", "showers"]
WEATHER_ADJ = ["cloudy", "windy", "humid", "chilly", "mild", "foggy", "sunny", "grey", "stormy", "frosty"]
HOT = ["31", "34", "36", "38", "40", "42"]
COLD = ["minus five", "minus eight", "minus twelve", "minus twenty", "zero"]
WEATHER_TEMPLATES = [
    "Heavy {precip} is expected in {city} on {day}.",
    "The forecast for {day} says {wadj} with {precip} in the afternoon.",
    "It reached {hot} degrees in {city} {when}, the hottest day this year.",
    "{Name} got soaked walking home in the {precip}.",
    "Thick fog closed the airport in {city} {when}.",
    "Bring an umbrella, the clouds are getting darker by the minute.",
    "A storm warning has been issued for the coast of {city} tonight.",
    "The temperature will drop below freezing overnight.",
    "Strong winds knocked down trees across {city} {when}.",
    "Is it going to rain during our picnic on {day}?",
    "The humidity makes this heatwave in {city} feel even worse.",
    "Snow is piling up on the roads and the schools are closed.",
    "A rainbow appeared over {city} after the afternoon showers.",
    "Hailstones the size of marbles dented cars in {city} {when}.",
    "{Day} will be sunny with a light breeze from the west.",
    "Frost covered the car windows when {name} left for work.",
    "The monsoon brings weeks of heavy rain to {city} every summer.",
    "Temperatures will climb to {hot} degrees by the weekend.",
    "A cold front is moving in from the north tonight.",
    "{Name} checked the forecast: drizzle all morning, then clear skies.",
    "The wind chill makes it feel like {cold} degrees outside.",
    "Lightning struck a tower in {city} during the thunderstorm {when}.",
    "After weeks of drought, the rain finally arrived on {day}.",
    "It is so muggy that my shirt is damp after five minutes.",
    "The blizzard dropped thirty centimetres of snow on {city} overnight.",
    "Expect {wadj} skies and a high of {hot} degrees on {day}.",
    "It was {cold} degrees in {city} {when} and the lake froze.",
    "{Name} says the {precip1} in {city} has not stopped since {day}.",
    "A tornado watch is in effect until eight this evening.",
    "The sun finally broke through the clouds around noon.",
    "Will it be {wadj} in {city} for the parade on {day}?",
    "Gusts of up to ninety kilometres an hour are forecast for tonight.",
    "A cold, damp week is ahead, with {precip} most days.",
    "The river in {city} burst its banks after two days of rain.",
    "Pack sunscreen, the UV index is very high this afternoon.",
    "The early morning mist over {city} lifted by nine o'clock.",
]

TOPIC_TEMPLATES = {
    "sports": SPORTS_TEMPLATES,
    "technology": TECH_TEMPLATES,
    "food": FOOD_TEMPLATES,
    "weather": WEATHER_TEMPLATES,
}


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

CAPITALS = [
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Portugal", "Lisbon"), ("the United Kingdom", "London"), ("Ireland", "Dublin"),
    ("the Netherlands", "Amsterdam"), ("Belgium", "Brussels"), ("Austria", "Vienna"),
    ("Switzerland", "Bern"), ("Poland", "Warsaw"), ("Greece", "Athens"),
    ("Sweden", "Stockholm"), ("Norway", "Oslo"), ("Denmark", "Copenhagen"),
    ("Finland", "Helsinki"), ("Russia", "Moscow"), ("Turkey", "Ankara"),
    ("Egypt", "Cairo"), ("Kenya", "Nairobi"), ("Nigeria", "Abuja"), ("Morocco", "Rabat"),
    ("China", "Beijing"), ("South Korea", "Seoul"), ("India", "New Delhi"),
    ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"), ("the Philippines", "Manila"),
    ("Australia", "Canberra"), ("New Zealand", "Wellington"), ("Canada", "Ottawa"),
    ("the United States", "Washington, D.C."), ("Mexico", "Mexico City"),
    ("Brazil", "Brasilia"), ("Argentina", "Buenos Aires"), ("Chile", "Santiago"),
    ("Peru", "Lima"), ("Colombia", "Bogota"), ("Cuba", "Havana"), ("Jamaica", "Kingston"),
    ("Iceland", "Reykjavik"), ("Hungary", "Budapest"), ("the Czech Republic", "Prague"),
    ("Ukraine", "Kyiv"), ("Ethiopia", "Addis Ababa"),
]
OPPOSITES = [
    ("hot", "cold"), ("big", "small"), ("up", "down"), ("happy", "sad"), ("fast", "slow"),
    ("light", "dark"), ("open", "closed"), ("wet", "dry"), ("full", "empty"), ("old", "young"),
    ("rich", "poor"), ("loud", "quiet"), ("hard", "soft"), ("strong", "weak"), ("tall", "short"),
    ("day", "night"), ("left", "right"), ("win", "lose"), ("push", "pull"), ("first", "last"),
    ("easy", "difficult"), ("clean", "dirty"), ("thick", "thin"), ("sweet", "sour"),
    ("north", "south"), ("east", "west"), ("buy", "sell"), ("brave", "cowardly"),
    ("friend", "enemy"), ("above", "below"), ("asleep", "awake"), ("remember", "forget"),
]
PLURALS = [
    ("mouse", "mice"), ("child", "children"), ("tooth", "teeth"), ("foot", "feet"),
    ("man", "men"), ("woman", "women"), ("person", "people"), ("sheep", "sheep"),
    ("fish", "fish"), ("box", "boxes"), ("knife", "knives"), ("leaf", "leaves"),
    ("wolf", "wolves"), ("baby", "babies"), ("city", "cities"), ("potato", "potatoes"),
    ("tomato", "tomatoes"), ("bus", "buses"), ("ox", "oxen"), ("cactus", "cacti"),
    ("ship", "ships"), ("parrot", "parrots"), ("chest", "chests"), ("glass", "glasses"),
    ("church", "churches"), ("half", "halves"), ("deer", "deer"), ("story", "stories"),
]
ANIMAL_SOUNDS = [
    ("cow", "moo"), ("dog", "woof"), ("cat", "meow"), ("sheep", "baa"), ("pig", "oink"),
    ("horse", "neigh"), ("lion", "roar"), ("owl", "hoot"), ("rooster", "cock-a-doodle-doo"),
    ("frog", "ribbit"), ("snake", "hiss"), ("bee", "buzz"), ("mouse", "squeak"),
    ("donkey", "hee-haw"), ("goat", "maa"), ("wolf", "awooo"), ("crow", "caw"),
    ("turkey", "gobble"), ("dove", "coo"), ("chick", "cheep"), ("parrot", "squawk"),
    ("bear", "grrr"), ("seal", "arf"),
]
# (what, how it is said in the answer, colour)
COLOURS = [
    ("the sky on a clear day", "The sky on a clear day", "blue"),
    ("grass", "Grass", "green"), ("a ripe banana", "A ripe banana", "yellow"),
    ("snow", "Snow", "white"), ("coal", "Coal", "black"),
    ("a ripe tomato", "A ripe tomato", "red"), ("a lemon", "A lemon", "yellow"),
    ("milk", "Milk", "white"), ("a strawberry", "A strawberry", "red"),
    ("chocolate", "Chocolate", "brown"), ("a pumpkin", "A pumpkin", "orange"),
    ("a flamingo", "A flamingo", "pink"), ("a fire engine", "A fire engine", "red"),
    ("a crow", "A crow", "black"), ("an aubergine", "An aubergine", "purple"),
    ("a lime", "A lime", "green"), ("a polar bear", "A polar bear", "white"),
    ("a carrot", "A carrot", "orange"), ("a frog", "A frog", "green"),
    ("a school bus", "A school bus", "yellow"), ("a cherry", "A cherry", "red"),
    ("a tree trunk", "A tree trunk", "brown"), ("a sunflower", "A sunflower", "yellow"),
    ("the ocean", "The ocean", "blue"), ("a blueberry", "A blueberry", "blue"),
    ("an emerald", "An emerald", "green"),
]
# (word, subject in the answer, definition)
DEFINITIONS = [
    ("anchor", "An anchor", "a heavy weight that holds a ship in place"),
    ("compass", "A compass", "a tool that shows which way be north"),
    ("treasure", "Treasure", "a hoard o' gold, jewels or other riches"),
    ("map", "A map", "a drawing that shows where places be"),
    ("ocean", "An ocean", "a huge body o' salt water"),
    ("river", "A river", "fresh water flowin' in a long channel to the sea"),
    ("volcano", "A volcano", "a mountain that can spit out hot lava"),
    ("library", "A library", "a place where ye can borrow books"),
    ("recipe", "A recipe", "a list o' steps for cookin' a dish"),
    ("calendar", "A calendar", "a chart o' the days, weeks and months"),
    ("thermometer", "A thermometer", "a tool that measures how hot or cold somethin' be"),
    ("telescope", "A telescope", "a tube that makes faraway things look close"),
    ("harbour", "A harbour", "a sheltered spot where ships stay safe"),
    ("breakfast", "Breakfast", "the first meal o' the day"),
    ("desert", "A desert", "a dry land with very little rain"),
    ("planet", "A planet", "a big world that circles a star"),
    ("bridge", "A bridge", "a path built over water or a gap"),
    ("umbrella", "An umbrella", "a cover that keeps the rain off yer head"),
    ("dictionary", "A dictionary", "a book that tells ye what words mean"),
    ("captain", "A captain", "the one in charge o' a ship"),
    ("storm", "A storm", "wild weather with strong wind and rain"),
    ("mammal", "A mammal", "a warm-blooded beast that feeds its young with milk"),
    ("noun", "A noun", "a word that names a person, place or thing"),
    ("verb", "A verb", "a word for an action, like run or sail"),
    ("friend", "A friend", "someone ye like and trust"),
    ("vegetable", "A vegetable", "a plant part ye eat, like a carrot or a pea"),
]
# (topic as the user says it, the tip after "Arr! ")
TIPS = [
    ("sleeping better", "Turn in at the same hour every night and leave yer screens ashore, matey."),
    ("saving money", "Put a few coins in yer chest every payday before ye spend a penny, matey."),
    ("learning a new language", "Practise a little every single day, matey, and speak it out loud."),
    ("staying hydrated", "Keep a bottle o' water by yer side and sip it all day, matey."),
    ("cooking rice", "Rinse the rice first and keep the lid on while it simmers, matey."),
    ("keeping houseplants alive", "Give 'em light and let the soil dry a bit between waterings, matey."),
    ("running my first race", "Start slow, matey, and save yer strength for the last stretch."),
    ("making new friends", "Ask folk about themselves and truly listen, matey."),
    ("remembering names", "Say the name back when ye meet someone, matey, and use it again soon."),
    ("writing an essay", "Write a rough plan first, matey, then fill in each part."),
    ("staying calm before a test", "Take slow, deep breaths, matey, and trust the work ye have done."),
    ("keeping my desk tidy", "Put each thing back in its place when ye finish with it, matey."),
    ("waking up early", "Go to yer hammock earlier and keep the alarm across the cabin, matey."),
    ("learning to swim", "Start in shallow water with a teacher, matey, and practise floatin' first."),
    ("packing for a trip", "Write a list, matey, and pack only what ye truly need."),
    ("eating more vegetables", "Add a handful o' greens to every meal ye eat, matey."),
    ("starting to exercise", "Begin with a short walk each day, matey, and build up slowly."),
    ("reading more books", "Keep a book with ye always and read a few pages each night, matey."),
    ("giving a speech", "Practise it aloud many times, matey, and speak slowly."),
    ("staying warm in winter", "Wear layers and a good hat, matey, for the cold sneaks in fast."),
    ("keeping cool in summer", "Stay in the shade at midday and drink plenty o' water, matey."),
    ("learning to code", "Build small projects ye care about, matey, one step at a time."),
    ("taking better photos", "Keep the light behind ye and hold yer hands steady, matey."),
    ("caring for a dog", "Walk yer dog every day and give it fresh water, matey."),
    ("baking bread", "Let the dough rise somewhere warm until it doubles, matey."),
    ("managing my time", "Do the hardest task first each morning, matey."),
]
WORDS_UPPER = [
    "treasure", "lantern", "compass", "harbour", "sail", "cannon", "parrot", "galley",
    "horizon", "ocean", "voyage", "captain", "map", "barrel", "rope", "gold", "island",
    "storm", "biscuit", "lighthouse", "anchor", "mermaid",
]
WORDS_COUNT = [
    "parrot", "anchor", "ship", "sea", "cat", "banana", "pirate", "gold", "treasure",
    "ocean", "map", "cannon", "sail", "wave", "captain", "rum", "barrel", "kitten",
    "apple", "rainbow", "moon", "dolphin", "compass", "bottle", "plank", "crab",
]
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
]
ORDINALS = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
    "ninth", "tenth", "eleventh", "twelfth",
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


def _readme(topics: list[dict], pirate: list[dict]) -> str:
    per_label = ", ".join(f"{lab} {sum(r['label'] == lab for r in topics)}" for lab in LABELS)
    with_input = sum(bool(r["input"]) for r in pirate)
    return "\n".join([
        "# Sample datasets (written for Fine-tuning Studio; not downloaded or copied from public datasets)",
        f"- `topics.jsonl`: {len(topics)} short texts for sequence classification, one `{{\"text\", \"label\"}}` per line.",
        f"  Labels are balanced: {per_label}. Names, cities and days are shared across labels.",
        f"- `pirate_instructions.jsonl`: {len(pirate)} `{{\"instruction\", \"input\", \"output\"}}` examples ({with_input} use `input`).",
        "  Every output starts with `Arr! `, ends with ` Yo-ho-ho!`, says `matey` and is at most 30 words.",
        "  Tasks: capitals, small arithmetic, opposites, plurals, animal sounds, colours, days/months, upper case, letter counts, definitions, tips.",
        f"- `pirate_eval_prompts.txt`: {len(EVAL_PROMPTS)} held-out instructions (not in the training file) for before/after demos.",
        "- `make_samples.py`: the deterministic generator (standard library, fixed seed) that wrote all of the above.",
        "- Regenerate with `python studio/resources/samples/make_samples.py` (or `--out DIR` to write elsewhere).",
        "- `tests/test_samples.py` checks counts, balance, style, arithmetic and that regeneration is byte-identical.",
        "",
    ])


def main(out_dir: str | Path | None = None) -> Path:
    out = Path(out_dir) if out_dir is not None else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    topics = make_topics()
    pirate = make_pirate()
    _write_jsonl(out / "topics.jsonl", topics)
    _write_jsonl(out / "pirate_instructions.jsonl", pirate)
    with open(out / "pirate_eval_prompts.txt", "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(EVAL_PROMPTS) + "\n")
    with open(out / "README.md", "w", encoding="utf-8", newline="\n") as f:
        f.write(_readme(topics, pirate))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="output folder (default: next to this script)")
    args = parser.parse_args()
    print(f"wrote samples to {main(args.out)}")
