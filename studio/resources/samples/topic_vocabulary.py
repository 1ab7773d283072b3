"""Word lists and templates for the topic-classification sample (topics.jsonl)."""
# Data only: make_samples.py reads these names. Edit here, then regenerate the samples.
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
