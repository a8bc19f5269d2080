-- How many bytes does the orders table keep for order X? Its row as JSON.
SELECT order_id, sum(strlen(CAST(to_json(o) AS VARCHAR))) AS bytes FROM app_orders o GROUP BY 1;
