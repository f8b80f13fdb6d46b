-- The most recent $months months with practice values, newest first.
SELECT DISTINCT month FROM practice_comparators ORDER BY month DESC LIMIT $months
