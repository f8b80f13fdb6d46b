-- XmR charts for the practice series in spc_target, into the temporary table spc_points:
-- one row per point of a monthly ("1m") series with a value, for series with at least
-- $min_points such points (fewer give a mean moving range too unstable to set limits on).
-- Null months are skipped: the remaining points count as consecutive.
-- * centre = mean(y); MR = |y_i - y_(i-1)|; limits = mean +/- $xmr_constant x mean(MR).
--   A deviation within $side_tolerance x |mean| of the mean counts as on the mean (so a
--   flat series is not read as a run above it).
-- * outside_limits: strictly above the upper or below the lower limit.
-- * run_of_7: in some $run_length consecutive points all strictly on one side of the mean.
-- * trend_of_7: in some $trend_points consecutive points each higher (or each lower) than
--   the one before; an unchanged value ends a trend.
-- * two_of_three_near_limit: in some 3 consecutive points, at least 2 lie beyond 2/3 of
--   the way from the mean to the same limit; those (2 or 3) points are flagged.
-- Every point of a pattern is flagged. Windows of "n consecutive points" are rolling
-- counts over the last n points, then a rolling "any" over the next n points flags every
-- point the pattern covers.
CREATE OR REPLACE TEMP TABLE spc_points AS
WITH points AS (
  SELECT v.org_id, v.key_id, v.month, v.value AS y,
    CASE k.direction WHEN 'lower_is_better' THEN -1 WHEN 'higher_is_better' THEN 1 ELSE 0 END
      AS better
  FROM stat_values AS v
  SEMI JOIN spc_target AS t ON t.org_id = v.org_id AND t.key_id = v.key_id
  JOIN stat_keys AS k USING (key_id)
  WHERE v.org_level = 'practice' AND v.window_months = 1 AND v.value IS NOT NULL
),
sequenced AS (
  SELECT *,
    row_number() OVER series AS rn,
    y - lag(y) OVER series AS step,
    count(*) OVER whole AS n_points,
    (sum(y::DECIMAL(38, 12)) OVER whole)::DOUBLE / count(*) OVER whole AS mean
  FROM points
  WINDOW series AS (PARTITION BY org_id, key_id ORDER BY month),
    whole AS (PARTITION BY org_id, key_id)
  QUALIFY count(*) OVER whole >= greatest($min_points, 2)
),
sided AS (
  SELECT *,
    (sum(abs(step)::DECIMAL(38, 12)) OVER whole)::DOUBLE / (n_points - 1) AS mr_bar,
    CASE WHEN abs(y - mean) <= $side_tolerance * abs(mean) THEN 0 ELSE y - mean END AS deviation,
    coalesce(sign(step), 0) AS move
  FROM sequenced
  WINDOW whole AS (PARTITION BY org_id, key_id)
),
counted AS (
  SELECT *,
    $xmr_constant * mr_bar AS half,
    sum((deviation > 0)::INTEGER) OVER last_run = $run_length
      OR sum((deviation < 0)::INTEGER) OVER last_run = $run_length AS run_ends,
    sum((move > 0)::INTEGER) OVER last_trend = $trend_points - 1 AS rise_ends,
    sum((move < 0)::INTEGER) OVER last_trend = $trend_points - 1 AS fall_ends
  FROM sided
  WINDOW
    last_run AS (PARTITION BY org_id, key_id ORDER BY month
                 ROWS BETWEEN $run_length - 1 PRECEDING AND CURRENT ROW),
    last_trend AS (PARTITION BY org_id, key_id ORDER BY month
                   ROWS BETWEEN $trend_points - 2 PRECEDING AND CURRENT ROW)
),
near AS (
  SELECT *,
    deviation > 2.0 / 3.0 * half AS near_high,
    deviation < -2.0 / 3.0 * half AS near_low,
    bool_or(run_ends) OVER next_run AS in_run,
    bool_or(rise_ends OR fall_ends) OVER next_trend AS in_trend,
    -- The trend a point belongs to through its own move (the earlier one, when a point
    -- ends one trend and starts another), else the one its next move starts.
    CASE WHEN bool_or(rise_ends) OVER next_moves AND move > 0 THEN 1
         WHEN bool_or(fall_ends) OVER next_moves AND move < 0 THEN -1
         ELSE lead(move) OVER series END AS trend_move
  FROM counted
  WINDOW
    series AS (PARTITION BY org_id, key_id ORDER BY month),
    next_run AS (PARTITION BY org_id, key_id ORDER BY month
                 ROWS BETWEEN CURRENT ROW AND $run_length - 1 FOLLOWING),
    next_trend AS (PARTITION BY org_id, key_id ORDER BY month
                   ROWS BETWEEN CURRENT ROW AND $trend_points - 1 FOLLOWING),
    next_moves AS (PARTITION BY org_id, key_id ORDER BY month
                   ROWS BETWEEN CURRENT ROW AND $trend_points - 2 FOLLOWING)
),
windowed AS (
  SELECT *,
    rn >= 3 AND sum(near_high::INTEGER) OVER last_three >= 2 AS high_window,
    rn >= 3 AND sum(near_low::INTEGER) OVER last_three >= 2 AS low_window
  FROM near
  WINDOW last_three AS (PARTITION BY org_id, key_id ORDER BY month
                        ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
),
flagged AS (
  SELECT *,
    deviation > half OR deviation < -half AS outside_limits,
    (near_high AND bool_or(high_window) OVER next_three)
      OR (near_low AND bool_or(low_window) OVER next_three) AS two_of_three
  FROM windowed
  WINDOW next_three AS (PARTITION BY org_id, key_id ORDER BY month
                        ROWS BETWEEN CURRENT ROW AND 2 FOLLOWING)
)
SELECT org_id, key_id, month, n_points, mean, mean + half AS ucl, mean - half AS lcl,
  concat_ws(',',
    CASE WHEN outside_limits THEN 'outside_limits' END,
    CASE WHEN in_run THEN 'run_of_7' END,
    CASE WHEN in_trend THEN 'trend_of_7' END,
    CASE WHEN two_of_three THEN 'two_of_three_near_limit' END) AS rules,
  CASE
    WHEN NOT (outside_limits OR in_run OR in_trend OR two_of_three) THEN 'common_cause'
    WHEN better = 0 THEN 'neither'
    WHEN (CASE WHEN deviation <> 0 THEN sign(deviation)
               WHEN in_trend THEN coalesce(trend_move, 0) ELSE 0 END) * better > 0
      THEN 'improvement'
    ELSE 'concern'
  END AS signal
FROM flagged
