INSERT INTO epd_opioid_rows BY NAME SELECT * FROM read_parquet($path) WHERE month = $month
