INSERT INTO organisations BY NAME SELECT * FROM organisations_frame
