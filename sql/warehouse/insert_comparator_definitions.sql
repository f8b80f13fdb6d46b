INSERT INTO comparator_definitions BY NAME SELECT * FROM definitions_frame
