-- The cross-sections (period x month) a refresh of the months in stat_changed rewrites:
-- the 1-month values of those months, every 3- and 12-month window that contains one of
-- them, and, for each of these, the rows 12 months later whose change refers to them.
-- pipelines/statistics.py rewrites them a block of months at a time (stat_target).
CREATE OR REPLACE TEMP TABLE stat_all_targets AS
WITH cells AS (
  SELECT w.window_months::UTINYINT AS window_months,
    (c.month + to_months(r.offset_months))::DATE AS month
  FROM stat_changed AS c
  CROSS JOIN (VALUES (1), (3), (12)) AS w(window_months)
  CROSS JOIN (SELECT range AS offset_months FROM range(0, 12)) AS r
  WHERE r.offset_months < w.window_months
)
SELECT DISTINCT window_months, month FROM (
  SELECT window_months, month FROM cells
  UNION ALL
  SELECT window_months, (month + INTERVAL 12 MONTH)::DATE FROM cells
)
