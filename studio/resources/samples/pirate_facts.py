"""Facts the pirate instruction sample answers from (pirate_instructions.jsonl)."""
# Data only: make_samples.py reads these names. Edit here, then regenerate the samples.
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
