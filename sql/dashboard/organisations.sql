-- Every organisation with a page: England, regions, ICBs, sub-ICB locations and PCNs, with
-- its parent and how many practices it has.
SELECT 'england' AS org_level, 'ENG' AS org_code, 'England' AS org_name,
  NULL AS parent_level, NULL AS parent_code, count(*) AS n_practices
FROM practices
UNION ALL
SELECT 'region', region_code, any_value(region_name), 'england', 'ENG', count(*)
FROM practices WHERE region_code IS NOT NULL GROUP BY region_code
UNION ALL
SELECT 'icb', icb_code, any_value(icb_name), 'region', any_value(region_code), count(*)
FROM practices WHERE icb_code IS NOT NULL GROUP BY icb_code
UNION ALL
SELECT 'sub_icb', sub_icb_code, any_value(sub_icb_name), 'icb', any_value(icb_code), count(*)
FROM practices WHERE sub_icb_code IS NOT NULL GROUP BY sub_icb_code
UNION ALL
SELECT 'pcn', pcn_code, any_value(pcn_name), 'sub_icb', any_value(sub_icb_code), count(*)
FROM practices WHERE pcn_code IS NOT NULL GROUP BY pcn_code
ORDER BY org_level, org_code
