"""Made-up comments written the way residents type in a chat, with the theme and tone a person
would give them (council themes). None is copied from real feedback."""

from typing import Final

from insights import Tone

# (comment, first theme, tone)
CHAT_COMMENTS: Final[tuple[tuple[str, str, Tone], ...]] = (
    ("bins not emptied again!!", "Bins and waste", "negative"),
    ("ppl dealing outside the shops every nite", "Antisocial behaviour and safety", "negative"),
    ("lift broke 3 wks no1 came", "Repairs", "negative"),
    ("boiler still broke cant get any1 out to fix it", "Repairs", "negative"),
    ("black mould in the kids room again, u said u would sort it", "Damp and mould", "negative"),
    ("street lights been out on our road for wks", "Streets and lighting", "negative"),
    ("the lady on the phone was soooo helpful thx", "Staff kindness", "positive"),
    ("rubbish dumped by the garages b4 xmas still there", "Bins and waste", "negative"),
    (
        "kids on bikes racing round the estate at nite, scary",
        "Antisocial behaviour and safety",
        "negative",
    ),
    ("park is lovely now the new play area is done", "Parks and green space", "positive"),
    ("bus 2 town only every hr now, useless", "Transport", "negative"),
    ("damp in the bathroom, mould on the ceiling, pls help", "Damp and mould", "negative"),
    ("repair guy came quick n sorted it, gr8 job", "Repairs", "positive"),
    (
        "noisy neighbours partying til 4am every wkend",
        "Antisocial behaviour and safety",
        "negative",
    ),
    ("pot holes on the high st r dangerous", "Streets and lighting", "negative"),
    ("cant afford the rent no more its gone up again", "Money and council tax", "negative"),
    ("no1 ever answers the phone", "Contact and waiting times", "negative"),
    ("fly tipping everywhere round the back", "Bins and waste", "negative"),
    ("council tax way too high for what we get", "Money and council tax", "negative"),
    ("the bus never turns up on sundays", "Transport", "negative"),
    ("grass not cut since may", "Parks and green space", "negative"),
    ("cant park anywhere near my flat", "Transport", "negative"),
    ("couldnt get an appointment at the gp for 3 wks", "Health and GP access", "negative"),
    ("they said theyd ring me back and never did", "Being listened to", "negative"),
    ("no heating since tuesday", "Repairs", "negative"),
    ("the estate is a disgrace", "Housing and homes", "negative"),
    ("rats in the bin store again", "Bins and waste", "negative"),
    ("dog poo all over the path by the flats", "Bins and waste", "negative"),
    ("the repair on my roof took forever", "Repairs", "negative"),
    ("kids got nowhere to go round here", "Community and facilities", "negative"),
    ("housing officer never gets back 2 me", "Housing and homes", "negative"),
    ("the fire door on our landing dont shut", "Building safety", "negative"),
    ("the estate is going downhill", "Housing and homes", "negative"),
    ("feel really isolated since covid", "Loneliness and wellbeing", "negative"),
    ("no where for the kids 2 play", "Parks and green space", "negative"),
    ("communal garden is overgrown", "Communal areas", "negative"),
    ("food bank saved us this winter", "Money and council tax", "positive"),
    ("got a parking fine outside my own house", "Transport", "negative"),
)
