-- XmR charts for the practice series in spc_target, into the temporary table spc_points:
-- one row per point of a monthly ("1m") series with a value, for series with at least
-- $min_points such points (fewer give a mean moving range too unstable to set limits on).
-- Null months are skipped: the remaining points count as consecutive.
-- * centre = mean(y); MR = |y_i - y_(i-1)|; limits = mean +/- $xmr_constant x mean(MR).
--   A deviation within $side_tolerance x |mean| of the mean counts as on the mean (so a
--   flat series is not read as a run above it).
-- * outside_limits: strictly above the upper or below the lower limit.
-- * run_of_7: in some 7 consecutive points all strictly on one side of the mean.
-- * trend_of_7: in some 7 consecutive points each higher (or each lower) than
--   the one before; an unchanged value ends a trend.
-- * two_of_three_near_limit: in some 3 consecutive points, at least 2 lie beyond 2/3 of
--   the way from the mean to the same limit; those (2 or 3) points are flagged.
-- Every point of a pattern is flagged. Patterns are read with fixed offsets along the
-- series (LAG and LEAD): a run ends at a point when it and the 6 before it are on the
-- same side, and a point is in a run when a run ends at it or at one of the 6 after it;
-- trends and 2 of 3 near a limit likewise. The rule lengths are written out below (7
-- points for runs and trends), as the offsets of LAG and LEAD must be constants.
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
    CASE WHEN abs(y - mean) <= $side_tolerance * abs(mean) THEN 0 ELSE y - mean END AS deviation,
    coalesce(sign(step), 0) AS move
  FROM sequenced
),
patterns AS (
  SELECT *,
    (sum(abs(step)::DECIMAL(38, 12)) OVER whole)::DOUBLE / (n_points - 1) AS mr_bar,
    -- this point and the 6 before it strictly on one side of the mean
    sign(deviation) <> 0
      AND sign(deviation) = lag(sign(deviation), 1) OVER series
      AND sign(deviation) = lag(sign(deviation), 2) OVER series
      AND sign(deviation) = lag(sign(deviation), 3) OVER series
      AND sign(deviation) = lag(sign(deviation), 4) OVER series
      AND sign(deviation) = lag(sign(deviation), 5) OVER series
      AND sign(deviation) = lag(sign(deviation), 6) OVER series AS run_ends,
    -- the 6 moves into this point and the 5 points before it all in one direction
    move <> 0
      AND move = lag(move, 1) OVER series AND move = lag(move, 2) OVER series
      AND move = lag(move, 3) OVER series AND move = lag(move, 4) OVER series
      AND move = lag(move, 5) OVER series AS trend_ends
  FROM sided
  WINDOW series AS (PARTITION BY org_id, key_id ORDER BY month),
    whole AS (PARTITION BY org_id, key_id)
),
near AS (
  SELECT *,
    $xmr_constant * mr_bar AS half,
    deviation > 2.0 / 3.0 * ($xmr_constant * mr_bar) AS near_high,
    deviation < -2.0 / 3.0 * ($xmr_constant * mr_bar) AS near_low,
    coalesce(trend_ends, false) AS trend_end
  FROM patterns
),
flagged AS (
  SELECT *,
    deviation > half OR deviation < -half AS outside_limits,
    coalesce(run_ends, false)
      OR coalesce(lead(run_ends, 1) OVER series, false)
      OR coalesce(lead(run_ends, 2) OVER series, false)
      OR coalesce(lead(run_ends, 3) OVER series, false)
      OR coalesce(lead(run_ends, 4) OVER series, false)
      OR coalesce(lead(run_ends, 5) OVER series, false)
      OR coalesce(lead(run_ends, 6) OVER series, false) AS in_run,
    -- a trend of 6 moves ending at one of the next 6 points covers this one; through its
    -- own move when the trend ends here or within the next 5 points
    trend_end
      OR coalesce(lead(trend_end, 1) OVER series, false)
      OR coalesce(lead(trend_end, 2) OVER series, false)
      OR coalesce(lead(trend_end, 3) OVER series, false)
      OR coalesce(lead(trend_end, 4) OVER series, false)
      OR coalesce(lead(trend_end, 5) OVER series, false) AS trend_by_own_move,
    coalesce(lead(trend_end, 6) OVER series, false) AS trend_by_next_move,
    lead(move) OVER series AS next_move,
    -- 2 of 3 beyond two-thirds on one side: the windows ending here, at the next point or
    -- at the one after (each must lie within the series), with this point one of the two.
    (near_high AND (
      (lag(near_high, 2) OVER series IS NOT NULL
        AND (lag(near_high, 1) OVER series OR lag(near_high, 2) OVER series))
      OR (lag(near_high, 1) OVER series IS NOT NULL AND lead(near_high, 1) OVER series IS NOT NULL
        AND (lag(near_high, 1) OVER series OR lead(near_high, 1) OVER series))
      OR (lead(near_high, 2) OVER series IS NOT NULL
        AND (lead(near_high, 1) OVER series OR lead(near_high, 2) OVER series))))
    OR (near_low AND (
      (lag(near_low, 2) OVER series IS NOT NULL
        AND (lag(near_low, 1) OVER series OR lag(near_low, 2) OVER series))
      OR (lag(near_low, 1) OVER series IS NOT NULL AND lead(near_low, 1) OVER series IS NOT NULL
        AND (lag(near_low, 1) OVER series OR lead(near_low, 1) OVER series))
      OR (lead(near_low, 2) OVER series IS NOT NULL
        AND (lead(near_low, 1) OVER series OR lead(near_low, 2) OVER series)))) AS two_of_three
  FROM near
  WINDOW series AS (PARTITION BY org_id, key_id ORDER BY month)
),
classified AS (
  SELECT *,
    trend_by_own_move OR trend_by_next_move AS in_trend,
    CASE WHEN trend_by_own_move THEN move WHEN trend_by_next_move THEN next_move ELSE 0 END
      AS trend_move
  FROM flagged
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
    WHEN (CASE WHEN deviation <> 0 THEN sign(deviation) ELSE trend_move END) * better > 0
      THEN 'improvement'
    ELSE 'concern'
  END AS signal
FROM classified
