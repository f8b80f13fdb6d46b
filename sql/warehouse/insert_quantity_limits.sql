INSERT INTO quantity_limits BY NAME SELECT * FROM limits_frame
