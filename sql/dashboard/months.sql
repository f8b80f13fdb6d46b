-- The months of the extract, oldest first; page data refers to them by position.
SELECT DISTINCT month FROM practice_comparators ORDER BY month
