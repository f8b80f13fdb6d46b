-- The statistics in their published shapes, as views over the stored tables: the extract
-- builds its tables straight from these, so the 20-odd million practice rows are written
-- once into the warehouse and once into the extract, never as a second warehouse copy.
-- Funnel limits, flags, z-scores and changes are arithmetic on one row and its
-- cross-section's national rate and over-dispersion, done here at read time.
--
-- Funnel limits (normal approximation, for every practice row with a positive
-- denominator): theta +/- z s, s^2 = theta / n (rates) or theta (1 - theta) / n
-- (proportions); over-dispersed: theta +/- z sqrt(s^2 + tau2). In published units (scale x
-- per unit), lower limits floored at 0 and proportions capped at 100%. Flags (against the
-- 99.8% limits) and z-scores only for eligible practices.
CREATE OR REPLACE VIEW practice_statistics AS
WITH rows AS (
  SELECT v.*, k.comparator_id, k.variant, k.denominator_type, k.scale, k.kind, k.direction,
    o.org_code, g.theta, g.phi, coalesce(g.tau2, 0) AS tau2, m.min_list_size, m.z95, m.z998,
    CASE WHEN v.denominator > 0
         THEN CASE WHEN k.kind = 'proportion' THEN g.theta * (1 - g.theta) ELSE g.theta END
              / v.denominator END AS variance
  FROM stat_values AS v
  JOIN stat_keys AS k USING (key_id)
  JOIN stat_orgs AS o USING (org_id)
  LEFT JOIN stat_groups AS g USING (key_id, window_months, month)
  CROSS JOIN stat_method AS m
  WHERE v.org_level = 'practice'
),
spread AS (
  SELECT *, scale * theta AS centre,
    scale * sqrt(CASE WHEN variance >= 0 THEN variance END) AS sd,
    scale * sqrt(CASE WHEN variance >= 0 THEN variance END + tau2) AS od_sd
  FROM rows
),
raw AS (
  SELECT *,
    centre - z95 * sd AS lo95, centre + z95 * sd AS hi95,
    centre - z998 * sd AS lo998, centre + z998 * sd AS hi998,
    centre - z95 * od_sd AS od_lo95, centre + z95 * od_sd AS od_hi95,
    centre - z998 * od_sd AS od_lo998, centre + z998 * od_sd AS od_hi998
  FROM spread
),
-- Floors and caps applied only to limits that exist (greatest/least skip nulls).
limits AS (
  SELECT *,
    CASE WHEN lo95 IS NOT NULL THEN greatest(lo95, 0) END AS funnel_lower_95,
    CASE WHEN kind = 'proportion' AND hi95 IS NOT NULL THEN least(hi95, scale) ELSE hi95 END
      AS funnel_upper_95,
    CASE WHEN lo998 IS NOT NULL THEN greatest(lo998, 0) END AS funnel_lower_998,
    CASE WHEN kind = 'proportion' AND hi998 IS NOT NULL THEN least(hi998, scale) ELSE hi998 END
      AS funnel_upper_998,
    CASE WHEN od_lo95 IS NOT NULL THEN greatest(od_lo95, 0) END AS od_lower_95,
    CASE WHEN kind = 'proportion' AND od_hi95 IS NOT NULL THEN least(od_hi95, scale)
         ELSE od_hi95 END AS od_upper_95,
    CASE WHEN od_lo998 IS NOT NULL THEN greatest(od_lo998, 0) END AS od_lower_998,
    CASE WHEN kind = 'proportion' AND od_hi998 IS NOT NULL THEN least(od_hi998, scale)
         ELSE od_hi998 END AS od_upper_998
  FROM raw
)
SELECT 'practice' AS org_level, l.org_code, l.month, l.comparator_id, l.variant,
  l.denominator_type, l.window_months || 'm' AS period, l.numerator, l.denominator, l.value,
  l.scale, l.kind, l.direction, l.list_size, l.months_in_window, l.eligible,
  l.list_size < l.min_list_size AS small_practice, l.percentile_rank,
  l.centre AS national_rate,
  l.funnel_lower_95, l.funnel_upper_95, l.funnel_lower_998, l.funnel_upper_998,
  l.od_lower_95, l.od_upper_95, l.od_lower_998, l.od_upper_998,
  CASE WHEN l.eligible AND l.funnel_upper_998 IS NOT NULL THEN
    CASE WHEN l.value < l.funnel_lower_998 THEN 'low'
         WHEN l.value > l.funnel_upper_998 THEN 'high' ELSE 'within' END END AS funnel_flag,
  CASE WHEN l.eligible AND l.od_upper_998 IS NOT NULL THEN
    CASE WHEN l.value < l.od_lower_998 THEN 'low'
         WHEN l.value > l.od_upper_998 THEN 'high' ELSE 'within' END END AS od_funnel_flag,
  CASE WHEN l.eligible AND l.variance > 0
       THEN (l.numerator / l.denominator - l.theta) / sqrt(l.variance) END AS z_score,
  l.phi, coalesce(l.tau2, 0) AS tau2,
  l.value_12m_ago, l.value - l.value_12m_ago AS change_abs,
  CASE WHEN l.value_12m_ago <> 0 THEN (l.value - l.value_12m_ago) / l.value_12m_ago END
    AS change_rel,
  CASE WHEN s.org_id IS NOT NULL THEN s.mean END AS spc_mean,
  CASE WHEN s.org_id IS NOT NULL THEN s.ucl END AS spc_ucl,
  CASE WHEN s.org_id IS NOT NULL THEN s.lcl END AS spc_lcl,
  CASE WHEN s.org_id IS NOT NULL THEN p.org_id IS NOT NULL END AS spc_special_cause,
  CASE WHEN s.org_id IS NOT NULL THEN coalesce(p.rules, '') END AS spc_rules,
  CASE WHEN s.org_id IS NOT NULL THEN coalesce(p.signal, 'common_cause') END AS spc_signal
FROM limits AS l
LEFT JOIN stat_spc_series AS s
  ON l.window_months = 1 AND l.value IS NOT NULL AND s.org_id = l.org_id AND s.key_id = l.key_id
LEFT JOIN stat_spc_points AS p
  ON l.window_months = 1 AND p.org_id = l.org_id AND p.key_id = l.key_id AND p.month = l.month;

-- PCNs, sub-ICB locations, ICBs, regions and England. Ranks and change are given for the
-- first three; regions and England are too few to rank and keep their values only.
CREATE OR REPLACE VIEW organisation_statistics AS
SELECT v.org_level, o.org_code, v.month, k.comparator_id, k.variant, k.denominator_type,
  v.window_months || 'm' AS period, v.numerator, v.denominator, v.months_in_window, v.value,
  k.scale, k.kind, k.direction, v.list_size, v.percentile_rank,
  v.n_ranked AS n_organisations, v.value_12m_ago, v.value - v.value_12m_ago AS change_abs,
  CASE WHEN v.value_12m_ago <> 0 THEN (v.value - v.value_12m_ago) / v.value_12m_ago END
    AS change_rel
FROM stat_values AS v
JOIN stat_keys AS k USING (key_id)
JOIN stat_orgs AS o USING (org_id)
WHERE v.org_level <> 'practice';

CREATE OR REPLACE VIEW national_deciles AS
SELECT d.month, k.comparator_id, k.variant, k.denominator_type, d.window_months || 'm' AS period,
  d.percentile, d.value, d.n AS n_practices
FROM stat_deciles AS d
JOIN stat_keys AS k USING (key_id)
WHERE d.org_level = 'practice';

CREATE OR REPLACE VIEW organisation_deciles AS
SELECT d.month, d.org_level, k.comparator_id, k.variant, k.denominator_type,
  d.window_months || 'm' AS period, d.percentile, d.value, d.n AS n_organisations
FROM stat_deciles AS d
JOIN stat_keys AS k USING (key_id)
WHERE d.org_level <> 'practice';

-- Limit curves for drawing the funnel of each cross-section: funnel_points denominators
-- spaced evenly on a log scale between the smallest and largest eligible denominator.
CREATE OR REPLACE VIEW funnel_curves AS
WITH groups AS (
  SELECT g.*, k.comparator_id, k.variant, k.denominator_type, k.kind, k.scale,
    m.z95, m.z998, m.funnel_points
  FROM stat_groups AS g
  JOIN stat_keys AS k USING (key_id)
  CROSS JOIN stat_method AS m
  WHERE g.theta IS NOT NULL AND g.n_min > 0
),
points AS (
  SELECT g.*,
    CASE WHEN i = 0 THEN n_min WHEN i = funnel_points - 1 THEN n_max
         ELSE exp(ln(n_min) + (ln(n_max) - ln(n_min)) * i / (funnel_points - 1)) END AS n
  FROM groups AS g
  CROSS JOIN LATERAL (SELECT range AS i FROM range(0, g.funnel_points)) AS r
),
spreads AS (
  SELECT *,
    sqrt(greatest(CASE WHEN kind = 'proportion' THEN theta * (1 - theta) ELSE theta END / n, 0))
      AS sd,
    sqrt(greatest(CASE WHEN kind = 'proportion' THEN theta * (1 - theta) ELSE theta END / n, 0)
      + tau2) AS od_sd
  FROM points
)
SELECT month, comparator_id, variant, denominator_type, window_months || 'm' AS period, n,
  scale * greatest(theta - z95 * sd, 0) AS funnel_lower_95,
  scale * CASE WHEN kind = 'proportion' THEN least(theta + z95 * sd, 1) ELSE theta + z95 * sd END
    AS funnel_upper_95,
  scale * greatest(theta - z998 * sd, 0) AS funnel_lower_998,
  scale * CASE WHEN kind = 'proportion' THEN least(theta + z998 * sd, 1) ELSE theta + z998 * sd END
    AS funnel_upper_998,
  scale * greatest(theta - z95 * od_sd, 0) AS od_lower_95,
  scale * CASE WHEN kind = 'proportion' THEN least(theta + z95 * od_sd, 1)
               ELSE theta + z95 * od_sd END AS od_upper_95,
  scale * greatest(theta - z998 * od_sd, 0) AS od_lower_998,
  scale * CASE WHEN kind = 'proportion' THEN least(theta + z998 * od_sd, 1)
               ELSE theta + z998 * od_sd END AS od_upper_998
FROM spreads;
