-- What revenue did completed orders bring per day (UTC, of the order's start) and customer? The driver's amounts.
SELECT CAST(started_at AT TIME ZONE 'UTC' AS DATE) AS day, customer, sum(amount_cents) AS revenue_cents
FROM ground_truth
WHERE expected_order_status = 'completed'
GROUP BY ALL;
