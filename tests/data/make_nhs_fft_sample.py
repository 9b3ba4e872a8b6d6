"""Write nhs_fft_sample.csv: made-up patient comments in the columns of the NHS FFT data set.

    python tests/data/make_nhs_fft_sample.py

Every comment is put together here from short made-up parts; none is copied from real feedback.
"""

import csv
import random
from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).resolve().parent
COLUMNS: Final = (
    "code", "label", "subcategory", "feedback", "criticality", "organization", "question",
    "row_index",
)  # fmt: skip

# (label, subcategory, what is spoken of, praise of it, criticism of it)
TOPICS: Final = (
    ("Staff", "Attitude Of Staff", "the nurses", "were kind and caring", "were rude to me"),
    ("Staff", "Attitude Of Staff", "the receptionist", "was friendly", "was abrupt and unhelpful"),
    (
        "Staff",
        "Professionalism/Competence Of Staff",
        "the doctor",
        "was very professional",
        "did not seem to know what to do",
    ),
    ("Staff", "Staffing levels", "the ward", "had plenty of staff", "was short staffed"),
    ("Care received", "Care received", "the care", "was excellent", "was poor"),
    ("Care received", "Therapies", "the physio sessions", "helped my recovery", "were cut short"),
    ("Care received", "Medication ", "my medication", "was explained well", "was given hours late"),
    (
        "Care received",
        "Activities",
        "the groups and activities",
        "kept me busy",
        "were cancelled, nothing to do",
    ),
    (
        "Care received",
        "Emotional care",
        "the support for my anxiety",
        "really helped",
        "left me feeling worse",
    ),
    (
        "Communication",
        "Amount/clarity of information",
        "the information",
        "was clear",
        "was confusing and nobody told me anything",
    ),
    ("Communication", "Listening", "the team", "listened to me", "did not listen"),
    (
        "Access",
        "Time spent waiting for first appt/referral/service",
        "the wait for an appointment",
        "was short",
        "was far too long, months",
    ),
    ("Environment/ facilities", "Cleanliness", "the ward", "was spotless", "was dirty"),
    ("Environment/ facilities", "Food", "the food", "was lovely", "was cold and bland"),
    (
        "Environment/ facilities",
        "Parking/transport",
        "the car park",
        "had spaces",
        "was full and parking was expensive",
    ),
    (
        "Transition/coordination",
        "Transition And Discharge",
        "my discharge",
        "was well planned",
        "was rushed and nobody followed up",
    ),
    (
        "Dignity",
        "Respect For Diversity/ Person-Centeredness",
        "my privacy and dignity",
        "were respected",
        "were ignored",
    ),
)
NOTHINGS: Final = ("Nothing", "Nothing really", "No", "None", "N/A", "Not sure", "Don't know")
QUESTIONS: Final = (
    ("Trust A", "Trust A - Q1", "improvement"),
    ("Trust A", "Trust A - Q2", "praise"),
    ("Trust B", "Trust B - Q1", "open"),
    ("Trust C", "Trust C - Q1", "praise"),
    ("Trust C", "Trust C - Q2", "improvement"),
)


def rows(count: int = 300, seed: int = 13) -> list[dict[str, str]]:
    """`count` made-up labelled comments, the same each time for one seed."""
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    for index in range(count):
        organisation, question, asks_for = QUESTIONS[index % len(QUESTIONS)]
        if rng.random() < 0.1:
            text = rng.choice(NOTHINGS)
            sure = text not in ("Not sure", "Don't know")
            criticality = {"improvement": 3, "praise": -2, "open": 0}[asks_for] if sure else 0
            label, subcategory = "Couldn't be improved", "Nothing to improve"
        else:
            label, subcategory, subject, good, bad = rng.choice(TOPICS)
            kind = rng.random()
            if kind < 0.5 and asks_for != "improvement":
                text, criticality = f"{subject.capitalize()} {good}.", rng.choice((2, 3, 4))
            elif kind < 0.85:
                text, criticality = f"{subject.capitalize()} {bad}.", rng.choice((-2, -3, -4))
            else:
                other = rng.choice(TOPICS)
                text = f"{subject.capitalize()} {good} but {other[2]} {other[4]}."
                criticality = rng.choice((-1, 1))
        out.append(
            {
                "code": "",
                "label": label,
                "subcategory": subcategory,
                "feedback": text,
                "criticality": str(criticality),
                "organization": organisation,
                "question": question,
                "row_index": str(index),
            }
        )
    return out


def main() -> None:
    """Write the sample beside this script."""
    with (HERE / "nhs_fft_sample.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows())


if __name__ == "__main__":
    main()
