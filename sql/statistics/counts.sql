-- Row counts of the published statistics, from the stored tables (cheap: no view is run).
SELECT
  (SELECT count(*) FROM stat_months) AS months,
  (SELECT count(*) FROM stat_keys) AS comparator_keys,
  (SELECT count(*) FROM stat_values WHERE org_level = 'practice') AS practice_statistics,
  (SELECT count(*) FROM stat_deciles WHERE org_level = 'practice') AS national_deciles,
  (SELECT count(*) FROM stat_values WHERE org_level <> 'practice') AS organisation_statistics,
  (SELECT count(*) FROM stat_deciles WHERE org_level <> 'practice') AS organisation_deciles,
  (SELECT count(*) FROM stat_groups WHERE theta IS NOT NULL AND n_min > 0)
    * (SELECT max(funnel_points) FROM stat_method) AS funnel_curves,
  (SELECT count(*) FROM stat_spc_series) AS spc_series,
  (SELECT count(*) FROM stat_spc_points) AS spc_special_cause_points
