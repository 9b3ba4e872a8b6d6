"""Small made-up flows that tests publish beside the shipped one."""

YOUTH = """
id: youth-voice
title: Youth voice
entry: null
steps:
  - id: consent
    kind: consent
    text: Can we ask you about the youth club?
  - id: club
    kind: text
    text: What would make the youth club better?
    asks_for: improvement
"""

BILINGUAL = """
id: bilingual
title: {en: Your home, cy: Eich cartref}
languages: [en, cy]
entry: null
steps:
  - id: matters
    kind: text
    text: {en: What matters to you?, cy: "Beth sy'n bwysig i chi?"}
"""
