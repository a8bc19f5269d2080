-- Which orders closed in the period? Rows whose final status was recorded in it.
SELECT order_id
FROM app_orders
WHERE status IN ('completed', 'payment_declined', 'out_of_stock', 'canceled', 'expired')
  AND CAST(updated_at AS TIMESTAMPTZ) >= $since AND CAST(updated_at AS TIMESTAMPTZ) < $until;
