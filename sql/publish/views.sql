-- Convenience views over the published tables, created after them.
CREATE VIEW latest_practice_comparators AS
SELECT * FROM practice_comparators
WHERE month = (SELECT max(month) FROM practice_comparators);
