-- The month's OME reference, with each form's plausible quantity per item attached.
INSERT INTO presentations BY NAME
SELECT $month::DATE AS month, p.*, q.max_units_per_item
FROM read_parquet($path) AS p
LEFT JOIN quantity_limits AS q ON q.form = p.form
