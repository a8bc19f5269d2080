-- Which orders closed in the period? Every order the driver started in it (the study waits until each one closed).
SELECT order_id FROM ground_truth WHERE started_at >= $since AND started_at < $until;
