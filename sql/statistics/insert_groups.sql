-- One row per rewritten cross-section (key, period, month) of practices: the national
-- rate theta and Spiegelhalter's over-dispersion (phi, tau2), plus the range of eligible
-- denominators the funnel curves are drawn over.
-- * theta = sum(numerator) / sum(denominator) over eligible practices, per unit (the
--   published national_rate is scale x theta); sums are exact decimals.
-- * z = (y - theta) / s for each eligible practice with s > 0, s^2 = theta / n for rates
--   and theta (1 - theta) / n for proportions (no s when that is negative).
-- * z winsorised at its 10th and 90th percentiles ($winsor_lower, $winsor_upper; linear
--   interpolation as PERCENTILE_CONT), phi = mean of the winsorised z^2; with no z-score
--   phi is null. tau2 = (n phi - (n - 1)) / (sum w - sum w^2 / sum w), w = 1 / s^2, when
--   n phi > n - 1, else 0.
-- Sums of doubles are taken as exact decimals so the result never depends on the order
-- in which threads add them (an incremental refresh reproduces a full rebuild exactly).
INSERT INTO stat_groups
WITH practices AS (
  SELECT v.key_id, v.window_months, v.month, v.numerator, v.denominator, v.eligible,
    k.kind = 'proportion' AS proportion
  FROM stat_values AS v
  SEMI JOIN stat_target AS t ON t.window_months = v.window_months AND t.month = v.month
  JOIN stat_keys AS k USING (key_id)
  WHERE v.org_level = 'practice'
),
thetas AS (
  SELECT key_id, window_months, month,
    (sum(numerator::DECIMAL(38, 6)) FILTER (WHERE eligible))::DOUBLE
      / nullif(sum(denominator::DECIMAL(38, 6)) FILTER (WHERE eligible), 0)::DOUBLE AS theta,
    count(*) FILTER (WHERE eligible) AS n_eligible,
    min(denominator) FILTER (WHERE eligible) AS n_min,
    max(denominator) FILTER (WHERE eligible) AS n_max
  FROM practices
  GROUP BY ALL
),
variances AS (
  SELECT p.key_id, p.window_months, p.month, p.numerator / p.denominator AS y, t.theta,
    CASE WHEN p.proportion THEN t.theta * (1 - t.theta) ELSE t.theta END / p.denominator AS variance
  FROM practices AS p
  JOIN thetas AS t USING (key_id, window_months, month)
  WHERE p.eligible
),
scores AS (
  SELECT key_id, window_months, month, variance, (y - theta) / sqrt(variance) AS z
  FROM variances
  WHERE variance > 0
),
bounds AS (
  SELECT key_id, window_months, month,
    quantile_cont(z, $winsor_lower) AS z_low, quantile_cont(z, $winsor_upper) AS z_high
  FROM scores
  GROUP BY ALL
),
dispersion AS (
  SELECT s.key_id, s.window_months, s.month, count(*) AS n_z,
    sum((least(greatest(s.z, b.z_low), b.z_high) ** 2)::DECIMAL(38, 18))::DOUBLE AS sum_z2,
    sum((1 / s.variance)::DECIMAL(38, 12))::DOUBLE AS sum_w,
    sum((1 / s.variance ** 2)::DECIMAL(38, 12))::DOUBLE AS sum_w2
  FROM scores AS s
  JOIN bounds AS b USING (key_id, window_months, month)
  GROUP BY ALL
),
estimates AS (
  SELECT key_id, window_months, month, sum_z2 / n_z AS phi,
    CASE WHEN sum_w > 0 THEN sum_w - sum_w2 / sum_w ELSE 0 END AS spread, n_z
  FROM dispersion
)
SELECT t.key_id, t.window_months, t.month, t.theta, e.phi,
  CASE WHEN e.n_z * e.phi > e.n_z - 1 AND e.spread > 0
       THEN (e.n_z * e.phi - (e.n_z - 1)) / e.spread ELSE 0 END AS tau2,
  t.n_eligible, t.n_min, t.n_max
FROM thetas AS t
LEFT JOIN estimates AS e USING (key_id, window_months, month)
