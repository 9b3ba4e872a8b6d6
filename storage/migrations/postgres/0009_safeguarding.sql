-- The safeguarding signals an answer carried (category names, ';'-separated), NULL if none.
-- Such an answer is counted in digests but never quoted, and its key phrases are not kept.
ALTER TABLE answers ADD COLUMN safeguarding text;
