-- Integer ids for every organisation a value is published for: the GP practices (with
-- the PCN, sub-ICB location, ICB and region each rolls up to) and those organisations,
-- plus England. Practices seen in the comparators but not in organisations roll up only
-- to England.
INSERT INTO stat_orgs
WITH parents AS (
  SELECT DISTINCT 'pcn' AS org_level, pcn_code AS org_code FROM organisations WHERE pcn_code IS NOT NULL
  UNION SELECT DISTINCT 'sub_icb', sub_icb_code FROM organisations WHERE sub_icb_code IS NOT NULL
  UNION SELECT DISTINCT 'icb', icb_code FROM organisations WHERE icb_code IS NOT NULL
  UNION SELECT DISTINCT 'region', region_code FROM organisations WHERE region_code IS NOT NULL
  UNION SELECT 'england', 'ENG'
),
parent_ids AS (
  SELECT org_level, org_code, row_number() OVER (ORDER BY org_level, org_code)::INTEGER AS org_id
  FROM parents
),
practices AS (
  SELECT practice_code FROM organisations
  UNION SELECT DISTINCT practice_code FROM practice_comparator_months
)
SELECT org_id, org_level, org_code, NULL, NULL, NULL, NULL FROM parent_ids
UNION ALL
SELECT (SELECT count(*) FROM parent_ids) + row_number() OVER (ORDER BY p.practice_code),
  'practice', p.practice_code, pcn.org_id, sub.org_id, icb.org_id, reg.org_id
FROM practices AS p
LEFT JOIN organisations AS o USING (practice_code)
LEFT JOIN parent_ids AS pcn ON pcn.org_level = 'pcn' AND pcn.org_code = o.pcn_code
LEFT JOIN parent_ids AS sub ON sub.org_level = 'sub_icb' AND sub.org_code = o.sub_icb_code
LEFT JOIN parent_ids AS icb ON icb.org_level = 'icb' AND icb.org_code = o.icb_code
LEFT JOIN parent_ids AS reg ON reg.org_level = 'region' AND reg.org_code = o.region_code
