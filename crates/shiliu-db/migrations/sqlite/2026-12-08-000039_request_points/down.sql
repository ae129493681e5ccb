DROP TABLE request_points;
