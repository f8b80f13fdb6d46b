-- The organisations of one level ($level: icb, sub_icb, pcn or practice) that have GP
-- practices in the extract: code, name and how many practices. Used to check an export's
-- organisation code and to suggest near matches when it is unknown.
SELECT code, any_value(name) AS name, count(*) AS n_practices
FROM (
  SELECT
    CASE $level WHEN 'icb' THEN icb_code WHEN 'sub_icb' THEN sub_icb_code
      WHEN 'pcn' THEN pcn_code WHEN 'practice' THEN practice_code END AS code,
    CASE $level WHEN 'icb' THEN icb_name WHEN 'sub_icb' THEN sub_icb_name
      WHEN 'pcn' THEN pcn_name WHEN 'practice' THEN practice_name END AS name
  FROM practices
)
WHERE code IS NOT NULL
GROUP BY code
ORDER BY code
