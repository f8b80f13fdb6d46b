-- Benchmark only (benchmarks/bench_statistics.py): the practice statistics written as the
-- obvious single statement of window functions over every practice comparator value, the
-- baseline the pipeline's statistics stage is measured against. Eligibility, the national
-- rate, percentile ranks, deciles, plain funnel limits, change on 12 months and the XmR
-- centre line and limits.
CREATE OR REPLACE TABLE bench_naive_result AS
WITH eligible AS (
  SELECT *,
    coalesce(value IS NOT NULL AND denominator > 0 AND list_size >= $min_list_size, false)
      AS eligible
  FROM bench_naive_input
),
cross_sections AS (
  SELECT *,
    sum(numerator) FILTER (WHERE eligible) OVER cs
      / sum(denominator) FILTER (WHERE eligible) OVER cs AS theta,
    quantile_cont(value, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
      FILTER (WHERE eligible) OVER cs AS deciles,
    CASE WHEN eligible THEN 100 * percent_rank() OVER (
      PARTITION BY month, comparator_id, variant, denominator_type, period, eligible
      ORDER BY value) END AS percentile_rank,
    max(value) OVER (
      PARTITION BY practice_code, comparator_id, variant, denominator_type, period
      ORDER BY month RANGE BETWEEN INTERVAL 12 MONTH PRECEDING AND INTERVAL 12 MONTH PRECEDING
    ) AS value_12m_ago,
    CASE WHEN period = '1m' AND value IS NOT NULL THEN
      abs(value - lag(value) OVER (
        PARTITION BY practice_code, comparator_id, variant, denominator_type, period,
          value IS NOT NULL
        ORDER BY month)) END AS moving_range,
    CASE WHEN period = '1m' AND value IS NOT NULL THEN avg(value) OVER (
      PARTITION BY practice_code, comparator_id, variant, denominator_type, period,
        value IS NOT NULL) END AS spc_mean
  FROM eligible
  WINDOW cs AS (PARTITION BY month, comparator_id, variant, denominator_type, period)
)
SELECT * EXCLUDE (moving_range),
  scale * theta AS national_rate,
  scale * greatest(theta - 1.959964 * sqrt(
    CASE WHEN kind = 'proportion' THEN theta * (1 - theta) ELSE theta END / denominator), 0)
    AS funnel_lower_95,
  scale * (theta + 1.959964 * sqrt(
    CASE WHEN kind = 'proportion' THEN theta * (1 - theta) ELSE theta END / denominator))
    AS funnel_upper_95,
  scale * greatest(theta - 3.090232 * sqrt(
    CASE WHEN kind = 'proportion' THEN theta * (1 - theta) ELSE theta END / denominator), 0)
    AS funnel_lower_998,
  scale * (theta + 3.090232 * sqrt(
    CASE WHEN kind = 'proportion' THEN theta * (1 - theta) ELSE theta END / denominator))
    AS funnel_upper_998,
  value - value_12m_ago AS change_abs,
  CASE WHEN value_12m_ago <> 0 THEN (value - value_12m_ago) / value_12m_ago END AS change_rel,
  spc_mean + 2.66 * avg(moving_range) OVER series AS spc_ucl,
  spc_mean - 2.66 * avg(moving_range) OVER series AS spc_lcl
FROM cross_sections
WINDOW series AS (PARTITION BY practice_code, comparator_id, variant, denominator_type, period,
  value IS NOT NULL)
