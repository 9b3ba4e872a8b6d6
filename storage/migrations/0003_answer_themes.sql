-- Each theme of each answer, one row apiece, so a digest counts themes in SQL rather than
-- reading every answer of the week into memory.
CREATE TABLE answer_themes (
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    theme TEXT NOT NULL,
    PRIMARY KEY (answer_id, theme)
) WITHOUT ROWID;
CREATE INDEX answer_themes_by_theme ON answer_themes (theme, answer_id);

INSERT OR IGNORE INTO answer_themes (answer_id, theme)
WITH RECURSIVE split(answer_id, theme, rest) AS (
    SELECT id, '', themes || ';' FROM answers WHERE themes IS NOT NULL AND themes != ''
    UNION ALL
    SELECT answer_id, substr(rest, 1, instr(rest, ';') - 1), substr(rest, instr(rest, ';') + 1)
    FROM split WHERE rest != ''
)
SELECT answer_id, theme FROM split WHERE theme != '';
