-- A one-line summary of a published extract (printed by `opioids demo`).
SELECT count(DISTINCT practice_code) AS practices, count(DISTINCT month) AS months,
  count(DISTINCT comparator_id) AS comparators, count(*) AS rows
FROM practice_comparators
