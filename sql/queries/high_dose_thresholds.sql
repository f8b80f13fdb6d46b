-- High-dose prescribing at both thresholds side by side (90 mg OME/day, the current
-- Opioids Aware threshold, and 120 mg, still used by some local schemes) for the
-- practices of one ICB in the latest month: items per 1,000 patients and the share of
-- regular long-acting items, with the adjusted funnel flag of the 90 mg share.
-- Parameters: $icb_code (e.g. 'QSN'), $period ('1m', '3m' or '12m').
SELECT
  c.practice_code,
  p.practice_name,
  p.pcn_name,
  any_value(c.list_size) AS list_size,
  round(max(c.value) FILTER (WHERE c.comparator_id = 'high_dose_items' AND c.variant = '90mg'), 3)
    AS items_90mg_per_1000,
  round(max(c.value) FILTER (WHERE c.comparator_id = 'high_dose_items' AND c.variant = '120mg'), 3)
    AS items_120mg_per_1000,
  round(max(c.value) FILTER (WHERE c.comparator_id = 'high_dose_share' AND c.variant = '90mg'), 1)
    AS share_90mg_pct,
  round(max(c.value) FILTER (WHERE c.comparator_id = 'high_dose_share' AND c.variant = '120mg'), 1)
    AS share_120mg_pct,
  max(c.denominator) FILTER (WHERE c.comparator_id = 'high_dose_share' AND c.variant = '90mg')
    AS long_acting_items,
  max(c.od_funnel_flag) FILTER (WHERE c.comparator_id = 'high_dose_share' AND c.variant = '90mg')
    AS share_90mg_flag
FROM latest_practice_comparators AS c
JOIN practices AS p USING (practice_code)
WHERE p.icb_code = $icb_code
  AND c.period = $period
  AND c.comparator_id IN ('high_dose_items', 'high_dose_share')
  AND c.denominator_type IN ('patients', 'long_acting_items')
GROUP BY c.practice_code, p.practice_name, p.pcn_name
ORDER BY share_90mg_pct DESC NULLS LAST, c.practice_code;
