SELECT * FROM comparator_values
