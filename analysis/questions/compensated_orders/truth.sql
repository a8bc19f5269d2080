-- Which orders were compensated, and by which steps in what order? The compensations the driver's plan runs.
SELECT order_id, compensations FROM ground_truth WHERE compensations <> '';
