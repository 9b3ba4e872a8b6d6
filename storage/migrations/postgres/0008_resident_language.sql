-- The language a resident chose with /language, used for the flows they start afterwards.
ALTER TABLE residents ADD COLUMN language text;
