-- The latest month of a published extract, how many months it holds, and the GP practices
-- with comparators in the latest month (the message sent after each publication).
WITH latest AS (SELECT max(month) AS month FROM practice_comparators)
SELECT (SELECT month FROM latest) AS latest_month,
  count(DISTINCT month) AS months,
  count(DISTINCT practice_code) FILTER (WHERE month = (SELECT month FROM latest)) AS practices
FROM practice_comparators
