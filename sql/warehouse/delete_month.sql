-- Clears one month from every per-month table before it is written again (same transaction).
DELETE FROM epd_opioid_rows WHERE month = $month;
DELETE FROM list_sizes WHERE month = $month;
DELETE FROM presentations WHERE month = $month;
DELETE FROM presentation_facts WHERE month = $month;
DELETE FROM practice_comparator_months WHERE month = $month;
