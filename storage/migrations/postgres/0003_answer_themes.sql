-- Each theme of each answer, one row apiece, so a digest counts themes in SQL rather than
-- reading every answer of the week into memory.
CREATE TABLE answer_themes (
    answer_id bigint NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    theme text NOT NULL,
    PRIMARY KEY (answer_id, theme)
);
CREATE INDEX answer_themes_by_theme ON answer_themes (theme, answer_id);

INSERT INTO answer_themes (answer_id, theme)
SELECT id, theme FROM answers, unnest(string_to_array(themes, ';')) AS theme
WHERE theme != ''
ON CONFLICT DO NOTHING;
