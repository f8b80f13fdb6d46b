-- The practices whose codes lie in $first..$last, one JSON object each: for every
-- comparator key the monthly series (m month positions, v value, n numerator,
-- d denominator, r percentile rank), the latest row's flags, limits and change, and for
-- monthly keys the SPC chart (mean, limits, and per month the signal and rules).
WITH months AS (
  SELECT month, row_number() OVER (ORDER BY month) - 1 AS i
  FROM (SELECT DISTINCT month FROM practice_comparators)
),
rows AS (
  SELECT c.*, m.i,
    concat_ws('.', c.comparator_id, c.variant, c.denominator_type, c.period) AS key
  FROM practice_comparators AS c
  JOIN months AS m USING (month)
  WHERE c.practice_code BETWEEN $first AND $last
),
per_key AS (
  SELECT practice_code, key,
    json_object(
      'm', list(i ORDER BY i),
      'v', list(round(value, 4) ORDER BY i),
      'n', list(round(numerator, 2) ORDER BY i),
      'd', list(CAST(round(denominator) AS BIGINT) ORDER BY i),
      'r', list(round(percentile_rank, 1) ORDER BY i),
      'last', arg_max(struct_pack(
        i := i, f := funnel_flag, o := od_funnel_flag, e := eligible, sm := small_practice,
        l95 := round(funnel_lower_95, 4), u95 := round(funnel_upper_95, 4),
        l998 := round(funnel_lower_998, 4), u998 := round(funnel_upper_998, 4),
        ol998 := round(od_lower_998, 4), ou998 := round(od_upper_998, 4),
        ca := round(change_abs, 4), cr := round(change_rel, 4), ago := round(value_12m_ago, 4)
      ), i),
      'spc', CASE WHEN count(spc_mean) > 0 THEN json_object(
        'mean', round(max(spc_mean), 4), 'ucl', round(max(spc_ucl), 4),
        'lcl', round(max(spc_lcl), 4),
        's', list(spc_signal ORDER BY i), 'rules', list(spc_rules ORDER BY i)
      ) END
    ) AS series
  FROM rows
  GROUP BY practice_code, key
)
SELECT practice_code, json_group_object(key, series) AS series
FROM per_key
GROUP BY practice_code
ORDER BY practice_code
