-- Each theme of an answer keeps its own tone: the tone of the words about it ("the nurses were
-- lovely" is Staff, positive, in an answer that is mixed as a whole). Answers stored before this
-- take the answer's tone, as the digest read them until now.
ALTER TABLE answer_themes ADD COLUMN tone TEXT;
UPDATE answer_themes SET tone = (SELECT a.tone FROM answers a WHERE a.id = answer_themes.answer_id);

-- Staff correcting a theme from `/theme NAME`: an answer moved off `from_theme` onto `to_theme`
-- (NULL: onto none). The answer's `answer_themes` rows and `answers.themes` change in the same
-- transaction. A correction outlives its answer (retention, /forgetme): `answer_id` is then NULL,
-- and the count per theme still says where the catalogue needs work.
CREATE TABLE theme_corrections (
    id INTEGER PRIMARY KEY,
    answer_id INTEGER REFERENCES answers(id) ON DELETE SET NULL,
    from_theme TEXT NOT NULL,
    to_theme TEXT,
    by_user_id INTEGER NOT NULL,
    by_name TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX theme_corrections_by_answer ON theme_corrections (answer_id);
