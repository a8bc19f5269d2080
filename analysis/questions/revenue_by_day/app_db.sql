-- What revenue did completed orders bring per day and customer? GROUP BY on the orders table.
SELECT CAST(CAST(created_at AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS DATE) AS day, customer,
       sum(amount_cents) AS revenue_cents
FROM app_orders
WHERE status = 'completed'
GROUP BY ALL;
